-- population and population_change_rate, per commune of the target geography.
with population as (
    select * from {{ ref('int_population_harmonised') }}
),

vintages as (
    select distinct vintage from population
),

-- For each vintage, the base of its change rate: the earliest loaded vintage at most
-- population_change_years earlier.
change_periods as (
    select v.vintage, min(b.vintage) as base_vintage
    from vintages as v
    join vintages as b
      on b.vintage::integer < v.vintage::integer
     and b.vintage::integer >= v.vintage::integer - {{ var('population_change_years') }}
    group by v.vintage
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
    p.vintage,
    c.base_vintage,
    null,
    p.commune_code,
    p.population::double,
    b.population::double,
    null,
    p.has_split or b.has_split,
    'etalab_decoupage ' || c.base_vintage || ', ' || p.vintage
from population as p
join change_periods as c using (vintage)
join population as b on b.vintage = c.base_vintage and b.commune_code = p.commune_code
