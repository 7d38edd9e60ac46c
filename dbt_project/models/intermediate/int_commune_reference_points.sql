-- Where distances are measured from: the town hall of each commune of the target geography,
-- else its centre, from the latest commune_locations vintage, projected in its zone's
-- metric system. A target commune missing from the locations file (a newer code) takes
-- the point of a predecessor code.
with locations as (
    select
        commune_code,
        coalesce(town_hall_longitude, centre_longitude) as longitude,
        coalesce(town_hall_latitude, centre_latitude) as latitude,
        case when town_hall_longitude is not null then 'town_hall' else 'centre' end as point_kind,
        vintage
    from {{ ref('stg_commune_locations__communes') }}
    where commune_type in ('COM', 'commune-actuelle')
      and vintage = (select max(vintage) from {{ ref('stg_commune_locations__communes') }})
),

mapped as (
    select
        p.commune_code,
        {{ min_by('l.longitude', '(l.commune_code <> p.commune_code)::integer') }} as longitude,
        {{ min_by('l.latitude', '(l.commune_code <> p.commune_code)::integer') }} as latitude,
        {{ min_by('l.point_kind', '(l.commune_code <> p.commune_code)::integer') }} as point_kind,
        any_value(l.vintage) as locations_vintage
    from locations as l
    join {{ ref('geo_commune_passage') }} as p on p.old_code = l.commune_code
    where l.longitude is not null and l.latitude is not null
    group by p.commune_code
),

targets as (
    select m.*
    from mapped as m
    join {{ ref('geo_commune') }} as g using (commune_code)
    where g.zone in ('metro', 'drom')
)

{{ project_to_zones('targets') }}
