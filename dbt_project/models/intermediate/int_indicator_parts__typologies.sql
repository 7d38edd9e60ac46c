-- density_level, is_rural, rural_population_share, frr_class and zrr. Shares at higher
-- levels are shares of the legal population of the nearest population vintage.
with typologies as (
    select t.*, p.population::double as population, p.population_vintage
    from {{ ref('int_typology_harmonised') }} as t
    join {{ ref('int_population_for_year') }} as p
      on p.data_year = t.vintage::integer and p.commune_code = t.commune_code
),

sources as (
    select * from (values
        ('density_level', 'insee_density_grid'),
        ('frr_class', 'anct_frr'),
        ('zrr', 'anct_zrr')
    ) as s (indicator_id, source_id)
)

select
    t.indicator_id,
    t.vintage,
    null::varchar as base_vintage,
    t.category,
    t.commune_code,
    t.population as numerator,
    null::double as denominator,
    null::boolean as flag,
    t.has_split,
    s.source_id || ' ' || t.vintage || ', etalab_decoupage ' || t.population_vintage as source_vintages
from typologies as t
join sources as s using (indicator_id)

union all

select
    'is_rural', vintage, null, null, commune_code, null, null,
    category::integer >= 5, has_split,
    'insee_density_grid ' || vintage
from typologies
where indicator_id = 'density_level'

union all

select
    'rural_population_share', vintage, null, null, commune_code,
    case when category::integer >= 5 then population else 0 end, population,
    null, has_split,
    'insee_density_grid ' || vintage || ', etalab_decoupage ' || population_vintage
from typologies
where indicator_id = 'density_level'
