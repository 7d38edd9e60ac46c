{{ config(alias='region') }}
with target as (
    select geography_vintage from {{ ref('int_geography_target') }}
),

communes as (
    select region_code, count(*) as commune_count, sum(population) as population
    from {{ ref('geo_commune') }}
    group by region_code
)

select
    r.region_code,
    r.region_name,
    r.zone,
    r.chef_lieu_code,
    c.commune_count,
    c.population,
    r.vintage as geography_vintage
from {{ ref('stg_etalab_decoupage__regions') }} as r
join target as t on r.vintage = t.geography_vintage
left join communes as c using (region_code)
