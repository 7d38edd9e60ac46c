-- The legal population to divide by for data of a given year, on the target geography:
-- the vintage whose census year (population_year) is the latest not after that year, else
-- the earliest one; of two vintages with the same census year, the newer geography.
-- population_vintage is that Etalab vintage (what source_vintages cite).
with population as (
    select * from {{ ref('int_population_harmonised') }}
),

loaded as (
    select distinct vintage, population_year from population
),

years as (
    select range::integer as data_year from range(2000, 2041)
),

chosen as (
    select
        y.data_year,
        coalesce(
            {{ max_by('l.vintage', row_key(['l.population_year', 'l.vintage'])) }} filter (where l.population_year <= y.data_year),
            {{ min_by('l.vintage', row_key(['l.population_year', 'l.vintage'])) }}
        ) as vintage
    from years as y
    cross join loaded as l
    group by y.data_year
)

select
    c.data_year,
    p.commune_code,
    p.population,
    p.vintage as population_vintage,
    p.population_year
from chosen as c
join population as p using (vintage)
