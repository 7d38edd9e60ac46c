-- The legal population of every census year loaded, on the target geography: INSEE's own
-- populations légales (insee_population, whose vintage is the census year) when that year
-- is loaded, else the newest Etalab package carrying it (its population_year). Etalab's
-- packages of two years may carry the same census (5.3.0 and 6.0.0 both carry 2023), so
-- package years cannot measure a change of population: census years do.
with insee as (
    {{ harmonise_to_target(
        "(select vintage, commune_code, population_municipale as population from "
        ~ ref('stg_insee_population__communes') ~ " where population_municipale is not null)",
        ['population']
    ) }}
),

candidates as (
    select vintage::integer as census_year, 'insee_population ' || vintage as source_vintage, 1 as preference,
           vintage::integer as package_year, commune_code, population::double as population, has_split
    from insee
    union all
    select population_year, 'etalab_decoupage ' || vintage, 2,
           vintage::integer, commune_code, population::double, has_split
    from {{ ref('int_population_harmonised') }}
    where population_year is not null
),

-- one source per census year, the same for every commune
chosen as (
    select census_year, {{ min_by('source_vintage', row_key(['preference', '-package_year'])) }} as source_vintage
    from (select distinct census_year, source_vintage, preference, package_year from candidates)
    group by census_year
)

select c.census_year, c.source_vintage, c.commune_code, c.population, c.has_split
from candidates as c
join chosen as k using (census_year, source_vintage)
