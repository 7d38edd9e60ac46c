-- Commune-level parts of every indicator on the target geography. Each indicator family
-- adds its rows here; marts roll them up with rollup_to_levels().
with population as (
    select * from {{ ref('int_population_harmonised') }}
),

vintages as (
    select distinct vintage from population
),

-- For each vintage, the base of its change rate: the vintage N years earlier if loaded,
-- otherwise the earliest loaded vintage in between.
change_periods as (
    select v.vintage, min(b.vintage) as base_vintage
    from vintages as v
    join vintages as b
      on b.vintage::integer < v.vintage::integer
     and b.vintage::integer >= v.vintage::integer - {{ var('population_change_years') }}
    group by v.vintage
),

population_rows as (
    select
        'population' as indicator_id,
        vintage,
        null::varchar as base_vintage,
        commune_code,
        population::double as numerator,
        null::double as denominator,
        has_split
    from population
),

change_rows as (
    select
        'population_change_rate' as indicator_id,
        p.vintage,
        c.base_vintage,
        p.commune_code,
        p.population::double as numerator,
        b.population::double as denominator,
        p.has_split or b.has_split as has_split
    from population as p
    join change_periods as c using (vintage)
    join population as b on b.vintage = c.base_vintage and b.commune_code = p.commune_code
)

select * from population_rows
union all
select * from change_rows
