-- Straight-line distance from each commune's reference point to the nearest facility of
-- each kind and vintage, in the same zone, without a communes × facilities cross join:
-- facilities are bucketed in square cells and each commune looks in the 3 × 3 cells
-- around its own. A distance found within one cell side is exact (anything outside the
-- block is farther); the (commune, kind, vintage) left without one repeat the search with
-- cells four times larger, and the very few left after the last pass are searched over the
-- whole zone. Each pass only looks at what the previous ones did not find.
{% set passes = [10000, 40000, 160000] %}
with communes as (
    select commune_code, zone, x, y from {{ ref('int_commune_reference_points') }}
),

facilities as materialized (
    select kind, source_id, vintage, zone, x, y from {{ ref('int_facility_points') }}
),

kinds as (
    select distinct kind, vintage, zone from facilities
),

offsets as (
    select dx.range::integer as dx, dy.range::integer as dy
    from range(-1, 2) as dx cross join range(-1, 2) as dy
),

-- every (commune, kind, vintage) to find, in the commune's zone
left_0 as materialized (
    select c.commune_code, c.zone, c.x, c.y, k.kind, k.vintage
    from communes as c
    join kinds as k on k.zone = c.zone
),

{% for cell in passes %}
-- the 3 × 3 cells around each point still to find, and the facilities' cells, at this size
probes_{{ loop.index }} as (
    select
        w.commune_code, w.zone, w.kind, w.vintage, w.x, w.y,
        floor(w.x / {{ cell }})::integer + o.dx as cx,
        floor(w.y / {{ cell }})::integer + o.dy as cy
    from left_{{ loop.index0 }} as w
    cross join offsets as o
),

cells_{{ loop.index }} as (
    select zone, kind, vintage, x, y, floor(x / {{ cell }})::integer as cx, floor(y / {{ cell }})::integer as cy
    from facilities
),

pass_{{ loop.index }} as materialized (
    select
        p.commune_code,
        p.kind,
        p.vintage,
        min(sqrt((p.x - f.x) ^ 2 + (p.y - f.y) ^ 2)) as distance_m
    from probes_{{ loop.index }} as p
    join cells_{{ loop.index }} as f
      on f.zone = p.zone and f.kind = p.kind and f.vintage = p.vintage and f.cx = p.cx and f.cy = p.cy
    group by all
),

found_{{ loop.index }} as (
    select commune_code, kind, vintage, distance_m, {{ loop.index }} as search_pass
    from pass_{{ loop.index }} where distance_m <= {{ cell }}
),

left_{{ loop.index }} as materialized (
    select w.* from left_{{ loop.index0 }} as w
    anti join found_{{ loop.index }} as e
      on e.commune_code = w.commune_code and e.kind = w.kind and e.vintage = w.vintage
),
{% endfor %}

whole_zone as (
    select
        r.commune_code, r.kind, r.vintage,
        min(sqrt((r.x - f.x) ^ 2 + (r.y - f.y) ^ 2)) as distance_m,
        {{ passes | length + 1 }} as search_pass
    from left_{{ passes | length }} as r
    join facilities as f on f.zone = r.zone and f.kind = r.kind and f.vintage = r.vintage
    group by all
)

{% for cell in passes %}
select commune_code, kind, vintage, distance_m / 1000.0 as distance_km, search_pass from found_{{ loop.index }}
union all
{% endfor %}
select commune_code, kind, vintage, distance_m / 1000.0, search_pass from whole_zone
