{{ config(alias='units') }}
-- programmes.units: every unit a programme can target, with where it is — the communes of
-- the target geography (metropolitan France and the DROM), the hospitals of the latest
-- FINESS extraction (centres hospitaliers, CHR/CHU, hôpitaux de proximité) and the
-- quartiers prioritaires of the latest QPV generation that has INSEE statistics. A hospital
-- or a quartier is placed in the commune of the target geography that holds it (through
-- geo.commune_passage for an older code); `population` is the commune's, the population of a
-- hospital's catchment (programmes.catchments), or the quartier's.
with communes as (
    select * from {{ ref('geo_commune') }} where zone in ('metro', 'drom')
),

hospitals as (
    select finess_code, name, commune_code
    from {{ ref('stg_finess__establishments') }}
    where is_hospital
      and vintage = (select max(vintage) from {{ ref('stg_finess__establishments') }})
),

catchment_population as (
    select code, sum(population) as population from {{ ref('programmes_catchments') }} group by code
),

quartiers as (
    select * from {{ ref('int_qpv_units') }}
)

select
    'commune' as unit,
    commune_code as code,
    commune_name as name,
    commune_code,
    commune_name,
    departement_code,
    region_code,
    epci_code,
    population::bigint as population,
    geography_vintage
from communes

union all

select
    'hospital',
    h.finess_code,
    h.name,
    c.commune_code,
    c.commune_name,
    c.departement_code,
    c.region_code,
    c.epci_code,
    p.population::bigint,
    c.geography_vintage
from hospitals as h
left join {{ ref('geo_commune_passage') }} as passage on passage.old_code = h.commune_code
join communes as c on c.commune_code = coalesce(passage.commune_code, h.commune_code)
left join catchment_population as p on p.code = h.finess_code

union all

select
    'qpv',
    q.qpv_code,
    q.qpv_name,
    c.commune_code,
    c.commune_name,
    c.departement_code,
    c.region_code,
    c.epci_code,
    q.population::bigint,
    c.geography_vintage
from quartiers as q
join communes as c on c.commune_code = q.commune_code
