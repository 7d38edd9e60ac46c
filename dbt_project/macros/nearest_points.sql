{#
  Distances between points of two relations, in metres, in each zone's projection
  (columns zone, x, y), without a cross join: the points to search among are bucketed in
  square cells, and each point looks in the 3 × 3 cells around its own.

  nearest_points: for every `origins` row (origin_id, zone, x, y and the `partition_by`
  columns), the nearest `targets` row (target_id, zone, x, y and the same columns) of the
  same zone and partition. A distance found within one cell side is exact (anything outside
  the block is farther); the origins left without one repeat the search with cells four
  times larger, and the very few left after the last pass are searched over the whole zone.
  Gives origin_id, the partition columns, target_id, distance_m, search_pass.

  points_within: every (origin, target) pair of the same zone and partition at most
  `radius_m` apart: origin_id, the partition columns, target_id, distance_m.
#}
{% macro nearest_points(origins, targets, partition_by=[], passes=[10000, 40000, 160000]) %}
{%- set keys = partition_by | join(', ') ~ (', ' if partition_by else '') -%}
{%- set same = [] -%}
{%- for column in partition_by %}{% do same.append('f.' ~ column ~ ' = p.' ~ column) %}{% endfor -%}
{%- set same_partition = (' and ' ~ same | join(' and ')) if same else '' -%}
with nearest_targets as materialized (
    select target_id, zone, {{ keys }} x, y from {{ targets }}
),

nearest_kinds as (
    select distinct zone {{ (', ' ~ partition_by | join(', ')) if partition_by else '' }} from nearest_targets
),

nearest_offsets as (
    select dx.range::integer as dx, dy.range::integer as dy
    from range(-1, 2) as dx cross join range(-1, 2) as dy
),

-- every (origin, partition) to find, in the origin's zone
nearest_left_0 as materialized (
    select o.origin_id, o.zone, {% for column in partition_by %}k.{{ column }}, {% endfor %} o.x, o.y
    from {{ origins }} as o
    join nearest_kinds as k on k.zone = o.zone
),

{% for cell in passes %}
nearest_probes_{{ loop.index }} as (
    select
        w.origin_id, w.zone, {% for column in partition_by %}w.{{ column }}, {% endfor %} w.x, w.y,
        floor(w.x / {{ cell }})::integer + o.dx as cx,
        floor(w.y / {{ cell }})::integer + o.dy as cy
    from nearest_left_{{ loop.index0 }} as w
    cross join nearest_offsets as o
),

nearest_cells_{{ loop.index }} as (
    select target_id, zone, {{ keys }} x, y, floor(x / {{ cell }})::integer as cx, floor(y / {{ cell }})::integer as cy
    from nearest_targets
),

nearest_pass_{{ loop.index }} as materialized (
    select
        p.origin_id, {% for column in partition_by %}p.{{ column }}, {% endfor %}
        {{ min_by('f.target_id', '(p.x - f.x) ^ 2 + (p.y - f.y) ^ 2') }} as target_id,
        min(sqrt((p.x - f.x) ^ 2 + (p.y - f.y) ^ 2)) as distance_m
    from nearest_probes_{{ loop.index }} as p
    join nearest_cells_{{ loop.index }} as f
      on f.zone = p.zone and f.cx = p.cx and f.cy = p.cy{{ same_partition }}
    group by all
),

nearest_found_{{ loop.index }} as (
    select *, {{ loop.index }} as search_pass from nearest_pass_{{ loop.index }} where distance_m <= {{ cell }}
),

nearest_left_{{ loop.index }} as materialized (
    select w.* from nearest_left_{{ loop.index0 }} as w
    where not exists (
        select 1 from nearest_found_{{ loop.index }} as e
        where e.origin_id = w.origin_id{% for column in partition_by %} and e.{{ column }} = w.{{ column }}{% endfor %}
    )
),
{% endfor %}

nearest_whole_zone as (
    select
        p.origin_id, {% for column in partition_by %}p.{{ column }}, {% endfor %}
        {{ min_by('f.target_id', '(p.x - f.x) ^ 2 + (p.y - f.y) ^ 2') }} as target_id,
        min(sqrt((p.x - f.x) ^ 2 + (p.y - f.y) ^ 2)) as distance_m,
        {{ passes | length + 1 }} as search_pass
    from nearest_left_{{ passes | length }} as p
    join nearest_targets as f on f.zone = p.zone{{ same_partition }}
    group by all
)

{% for cell in passes %}
select origin_id, {{ keys }} target_id, distance_m, search_pass from nearest_found_{{ loop.index }}
union all
{% endfor %}
select origin_id, {{ keys }} target_id, distance_m, search_pass from nearest_whole_zone
{% endmacro %}


{% macro points_within(origins, targets, radius_m, partition_by=[]) %}
{%- set keys = partition_by | join(', ') ~ (', ' if partition_by else '') -%}
with within_offsets as (
    select dx.range::integer as dx, dy.range::integer as dy
    from range(-1, 2) as dx cross join range(-1, 2) as dy
),

within_probes as (
    select
        o.origin_id, o.zone, {% for column in partition_by %}o.{{ column }}, {% endfor %} o.x, o.y,
        floor(o.x / {{ radius_m }})::integer + w.dx as cx,
        floor(o.y / {{ radius_m }})::integer + w.dy as cy
    from {{ origins }} as o
    cross join within_offsets as w
),

within_cells as (
    select target_id, zone, {{ keys }} x, y,
           floor(x / {{ radius_m }})::integer as cx, floor(y / {{ radius_m }})::integer as cy
    from {{ targets }}
)

select p.origin_id, {% for column in partition_by %}p.{{ column }}, {% endfor %} f.target_id,
       sqrt((p.x - f.x) ^ 2 + (p.y - f.y) ^ 2) as distance_m
from within_probes as p
join within_cells as f
  on f.zone = p.zone and f.cx = p.cx and f.cy = p.cy
  {%- for column in partition_by %} and f.{{ column }} = p.{{ column }}{% endfor %}
where sqrt((p.x - f.x) ^ 2 + (p.y - f.y) ^ 2) <= {{ radius_m }}
{% endmacro %}
