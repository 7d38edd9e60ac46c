-- GTFS stops (not the stations grouping them) placed in a commune of the target geography:
-- inside the commune's contour when the locations file has contours, otherwise the commune
-- whose town hall is nearest (searched in the 3 × 3 cells of 20 km around the stop).
with stops as (
    select vintage, feed_id, stop_id, longitude, latitude
    from {{ ref('stg_transport_gtfs__stops') }}
    where location_type = 0 and longitude is not null and latitude is not null
),

contours as (
    select p.commune_code, {{ geo_from_hex_ewkb('l.contour_wkb_hex') }} as contour
    from {{ ref('stg_commune_locations__communes') }} as l
    join {{ ref('geo_commune_passage') }} as p on p.old_code = l.commune_code
    where l.contour_wkb_hex is not null
      and l.commune_type in ('COM', 'commune-actuelle')
      and l.vintage = (select max(vintage) from {{ ref('stg_commune_locations__communes') }})
),

in_contour as (
    select s.vintage, s.feed_id, s.stop_id, any_value(c.commune_code) as commune_code
    from stops as s
    join contours as c on {{ geo_contains('c.contour', geo_point('s.longitude', 's.latitude')) }}
    group by all
),

unlocated as (
    select s.* from stops as s
    anti join in_contour as i using (vintage, feed_id, stop_id)
),

projected as (
    {{ project_to_zones('unlocated') }}
),

offsets as (
    select dx.range::integer as dx, dy.range::integer as dy
    from range(-1, 2) as dx cross join range(-1, 2) as dy
),

-- the 3 × 3 cells around each stop, and the town halls' cells (plain columns: hash-joined)
probes as (
    select s.*, floor(s.x / 20000)::integer + o.dx as cx, floor(s.y / 20000)::integer + o.dy as cy
    from projected as s
    cross join offsets as o
),

town_halls as (
    select commune_code, zone, x, y, floor(x / 20000)::integer as cx, floor(y / 20000)::integer as cy
    from {{ ref('int_commune_reference_points') }}
),

nearest_town_hall as (
    select
        s.vintage,
        s.feed_id,
        s.stop_id,
        {{ min_by('c.commune_code', '(s.x - c.x) ^ 2 + (s.y - c.y) ^ 2') }} as commune_code
    from probes as s
    join town_halls as c on c.zone = s.zone and c.cx = s.cx and c.cy = s.cy
    group by all
)

select vintage, feed_id, stop_id, commune_code, 'contour' as located_by from in_contour
union all
select vintage, feed_id, stop_id, commune_code, 'nearest_town_hall' from nearest_town_hall
