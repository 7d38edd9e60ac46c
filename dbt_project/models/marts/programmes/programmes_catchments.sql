{{ config(alias='catchments') }}
-- programmes.catchments: the communes around each hospital that a programme reaching out
-- from it would serve — those whose reference point (town hall, else centre) lies within
-- var('catchment_radius_km') of the hospital in a straight line in their zone's projection,
-- and those for which it is the nearest hospital (membership says which, or both) — with
-- what says whether they need doctors: population, APL to general practitioners, medical
-- desert, GPs and GPs for 10,000 inhabitants (latest vintage of each, indicators.long).
-- Hospitals: the latest FINESS extraction (int_facility_points, kind hospital).
with hospitals as (
    select facility_id as target_id, zone, x, y
    from {{ ref('int_facility_points') }}
    where kind = 'hospital'
      and vintage = (select max(vintage) from {{ ref('int_facility_points') }} where kind = 'hospital')
),

communes as (
    select commune_code as origin_id, zone, x, y from {{ ref('int_commune_reference_points') }}
),

within_radius as (
    {{ points_within('communes', 'hospitals', var('catchment_radius_km') * 1000) }}
),

nearest as (
    {{ nearest_points('communes', 'hospitals') }}
),

members as (
    select
        coalesce(w.target_id, n.target_id) as code,
        coalesce(w.origin_id, n.origin_id) as commune_code,
        coalesce(w.distance_m, n.distance_m) as distance_m,
        w.origin_id is not null as is_within_radius,
        n.origin_id is not null as is_nearest
    from within_radius as w
    full outer join nearest as n on n.origin_id = w.origin_id and n.target_id = w.target_id
),

latest as (
    select indicator_id, max(vintage) as vintage
    from {{ ref('indicators_long') }}
    where level = 'commune' and indicator_id in ('gp_apl', 'medical_desert', 'gp_count', 'gp_per_10k')
    group by indicator_id
),

needs as (
    select
        l.code as commune_code,
        max(l.value) filter (where l.indicator_id = 'gp_apl') as gp_apl,
        max(l.value) filter (where l.indicator_id = 'medical_desert') = 1 as is_medical_desert,
        max(l.value) filter (where l.indicator_id = 'gp_count') as gp_count,
        max(l.value) filter (where l.indicator_id = 'gp_per_10k') as gp_per_10k,
        max(l.vintage) filter (where l.indicator_id = 'gp_apl') as apl_vintage,
        max(l.vintage) filter (where l.indicator_id = 'gp_count') as bpe_vintage
    from {{ ref('indicators_long') }} as l
    join latest as v on v.indicator_id = l.indicator_id and v.vintage = l.vintage
    where l.level = 'commune'
    group by l.code
)

select
    'hospital' as unit,
    m.code,
    m.commune_code,
    g.commune_name,
    g.departement_code,
    m.distance_m / 1000.0 as distance_km,
    case
        when m.is_within_radius and m.is_nearest then 'radius and nearest'
        when m.is_within_radius then 'radius'
        else 'nearest'
    end as membership,
    {{ var('catchment_radius_km') }}::double as radius_km,
    g.population,
    n.gp_apl,
    n.is_medical_desert,
    n.gp_count,
    n.gp_per_10k,
    n.apl_vintage,
    n.bpe_vintage,
    g.geography_vintage
from members as m
join {{ ref('geo_commune') }} as g using (commune_code)
left join needs as n using (commune_code)
