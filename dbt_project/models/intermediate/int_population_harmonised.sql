-- Legal population of each loaded vintage on the target geography: the population of
-- every commune goes to the commune its code maps to, and is summed there. population_year
-- is the census year of the vintage's populations (one per vintage, from the catalogue).
with populations as (
    {{ harmonise_to_target(
        "(select vintage, commune_code, population from " ~ ref('stg_etalab_decoupage__communes')
        ~ " where commune_type = 'commune-actuelle' and population is not null)",
        ['population']
    ) }}
),

census_years as (
    select distinct vintage, population_year
    from {{ ref('stg_etalab_decoupage__communes') }}
    where commune_type = 'commune-actuelle' and population is not null
)

select
    p.vintage,
    c.population_year,
    p.commune_code,
    p.population,
    p.source_codes as source_commune_count,
    p.has_split
from populations as p
join census_years as c using (vintage)
