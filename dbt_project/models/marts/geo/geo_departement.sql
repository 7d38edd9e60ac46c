{{ config(alias='departement') }}
with target as (
    select geography_vintage from {{ ref('int_geography_target') }}
),

communes as (
    select departement_code, count(*) as commune_count, sum(population) as population
    from {{ ref('geo_commune') }}
    group by departement_code
)

select
    d.departement_code,
    d.departement_name,
    d.region_code,
    d.zone,
    d.chef_lieu_code,
    c.commune_count,
    c.population,
    d.vintage as geography_vintage
from {{ ref('stg_etalab_decoupage__departements') }} as d
join target as t on d.vintage = t.geography_vintage
left join communes as c using (departement_code)
