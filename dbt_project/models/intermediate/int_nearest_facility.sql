-- Straight-line distance from each commune's reference point to the nearest facility of
-- each kind and vintage, in the same zone, without a communes × facilities cross join:
-- facilities are bucketed in square cells and each commune looks in the 3 × 3 cells
-- around its own. A distance found within one cell side is exact (anything outside the
-- block is farther); otherwise the search repeats with cells ten times larger, then,
-- for the very few communes left, over the whole zone.
{% set passes = [20000, 200000] %}
with communes as (
    select commune_code, zone, x, y from {{ ref('int_commune_reference_points') }}
),

facilities as (
    select kind, source_id, vintage, zone, x, y from {{ ref('int_facility_points') }}
),

kinds as (
    select distinct kind, vintage, zone from facilities
),

offsets as (
    select dx.range::integer as dx, dy.range::integer as dy
    from range(-1, 2) as dx cross join range(-1, 2) as dy
),

{% for cell in passes %}
pass_{{ loop.index }} as (
    select
        c.commune_code,
        f.kind,
        f.vintage,
        min(sqrt((c.x - f.x) ^ 2 + (c.y - f.y) ^ 2)) as distance_m
    from communes as c
    cross join offsets as o
    join facilities as f
      on f.zone = c.zone
     and floor(f.x / {{ cell }})::integer = floor(c.x / {{ cell }})::integer + o.dx
     and floor(f.y / {{ cell }})::integer = floor(c.y / {{ cell }})::integer + o.dy
    group by all
),
{% endfor %}

exact as (
    select commune_code, kind, vintage, distance_m, 1 as search_pass
    from pass_1 where distance_m <= {{ passes[0] }}
    union all
    select p2.commune_code, p2.kind, p2.vintage, p2.distance_m, 2
    from pass_2 as p2
    anti join pass_1 as p1
      on p1.commune_code = p2.commune_code and p1.kind = p2.kind and p1.vintage = p2.vintage
     and p1.distance_m <= {{ passes[0] }}
    where p2.distance_m <= {{ passes[1] }}
),

remaining as (
    select c.commune_code, c.zone, c.x, c.y, k.kind, k.vintage
    from communes as c
    join kinds as k on k.zone = c.zone
    anti join exact as e on e.commune_code = c.commune_code and e.kind = k.kind and e.vintage = k.vintage
),

brute_force as (
    select r.commune_code, r.kind, r.vintage, min(sqrt((r.x - f.x) ^ 2 + (r.y - f.y) ^ 2)) as distance_m, 3 as search_pass
    from remaining as r
    join facilities as f on f.zone = r.zone and f.kind = r.kind and f.vintage = r.vintage
    group by all
)

select commune_code, kind, vintage, distance_m / 1000.0 as distance_km, search_pass from exact
union all
select commune_code, kind, vintage, distance_m / 1000.0, search_pass from brute_force
