-- population (each Etalab vintage, on the target geography) and population_change_rate
-- (between census years: see int_population_by_census_year), per commune.
with population as (
    select * from {{ ref('int_population_harmonised') }}
),

census as (
    select * from {{ ref('int_population_by_census_year') }}
),

census_years as (
    select distinct census_year, source_vintage from census
),

-- For each census year, the base of its change rate: the earliest loaded census year at
-- most population_change_years earlier. The rate's vintage and base_vintage are census
-- years, so the rate is annualised over the years between the two censuses.
change_periods as (
    select v.census_year, min(b.census_year) as base_year
    from census_years as v
    join census_years as b
      on b.census_year < v.census_year
     and b.census_year >= v.census_year - {{ var('population_change_years') }}
    group by v.census_year
)

select
    'population' as indicator_id,
    vintage,
    null::varchar as base_vintage,
    null::varchar as category,
    commune_code,
    population::double as numerator,
    null::double as denominator,
    null::boolean as flag,
    has_split,
    'etalab_decoupage ' || vintage as source_vintages
from population

union all

select
    'population_change_rate',
    c.census_year::varchar,
    c.base_year::varchar,
    null,
    p.commune_code,
    p.population,
    b.population,
    null,
    p.has_split or b.has_split,
    b.source_vintage || ', ' || p.source_vintage
from census as p
join change_periods as c using (census_year)
join census as b on b.census_year = c.base_year and b.commune_code = p.commune_code
