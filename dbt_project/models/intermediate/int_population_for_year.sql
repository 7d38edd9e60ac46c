-- The legal population to divide by for data of a given year, on the target geography:
-- the latest loaded population vintage not after that year, else the earliest loaded.
with population as (
    select vintage, vintage::integer as population_year, commune_code, population
    from {{ ref('int_population_harmonised') }}
),

loaded_years as (
    select distinct population_year from population
),

years as (
    select range::integer as data_year from range(2000, 2041)
),

chosen as (
    select
        y.data_year,
        coalesce(max(l.population_year) filter (where l.population_year <= y.data_year), min(l.population_year))
            as population_year
    from years as y
    cross join loaded_years as l
    group by y.data_year
)

select
    c.data_year,
    p.commune_code,
    p.population,
    p.vintage as population_vintage
from chosen as c
join population as p using (population_year)
