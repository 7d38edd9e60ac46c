-- senior_places_per_100_75p: places in the EHPAD and résidences autonomie within
-- var('catchment_radius_km') of a commune's reference point (FINESS, latest extraction, the
-- installed places of its capacities file), per 100 people aged 75 or more living in the
-- communes whose reference point lies within the same radius (census, latest vintage) —
-- what the people of the commune can hope to find around them. Published for communes only:
-- the radius overlaps its neighbours', so the values do not add up to a level above.
with finess as (
    select max(vintage) as vintage from {{ ref('stg_finess__capacities') }}
),

places as (
    select c.finess_code, sum(c.places)::double as places
    from {{ ref('stg_finess__capacities') }} as c
    join finess using (vintage)
    group by c.finess_code
),

residences as (
    select f.facility_id as target_id, f.zone, f.x, f.y, p.places
    from {{ ref('int_facility_points') }} as f
    join places as p on p.finess_code = f.facility_id
    where f.kind = 'senior_residence' and f.vintage = (select vintage from finess)
),

communes as (
    select commune_code as origin_id, zone, x, y from {{ ref('int_commune_reference_points') }}
),

census as (
    select max(vintage) as vintage from {{ ref('int_indicator_parts__census') }} where indicator_id = 'share_75_plus'
),

elderly as (
    select r.commune_code as target_id, r.zone, r.x, r.y, a.numerator as people_75_plus
    from {{ ref('int_indicator_parts__census') }} as a
    join census using (vintage)
    join {{ ref('int_commune_reference_points') }} as r using (commune_code)
    where a.indicator_id = 'share_75_plus'
),

places_near as (
    select w.origin_id as commune_code, sum(r.places) as places
    from ({{ points_within('communes', 'residences', var('catchment_radius_km') * 1000) }}) as w
    join residences as r using (target_id)
    group by w.origin_id
),

elderly_near as (
    select w.origin_id as commune_code, sum(e.people_75_plus) as people_75_plus, count(e.people_75_plus) = count(*) as is_complete
    from ({{ points_within('communes', 'elderly', var('catchment_radius_km') * 1000) }}) as w
    join elderly as e using (target_id)
    group by w.origin_id
)

select
    'senior_places_per_100_75p' as indicator_id,
    (select vintage from finess) as vintage,
    null::varchar as base_vintage,
    null::varchar as category,
    e.commune_code,
    case when e.is_complete then coalesce(p.places, 0) end as numerator,
    case when e.is_complete then e.people_75_plus end as denominator,
    null::boolean as flag,
    false as has_split,
    'finess ' || (select vintage from finess) || ', insee_census_age ' || (select vintage from census) || ', commune_locations'
        as source_vintages
from elderly_near as e
left join places_near as p using (commune_code)
where (select vintage from finess) is not null
