-- Cafés and bars (active SIRENE establishments with NAF rév. 2 56.30Z or NAF 2025 56.30Y: the
-- staging's is_cafe): cafe_count, has_cafe and no_cafe_population_share. Every commune has a count (0 without a café) for the loaded
-- stock vintages. The staging also holds the establishments closed in the last five years:
-- these indicators say what is open in the stock's month, so they count the active ones only.
with cafes as (
    select vintage, commune_code, count(*)::double as cafes
    from {{ ref('stg_insee_sirene__establishments') }}
    where is_active and is_cafe and commune_code is not null
    group by all
),

harmonised as (
    {{ harmonise_to_target('cafes', ['cafes']) }}
),

vintages as (
    select distinct vintage from {{ ref('stg_insee_sirene__establishments') }}
),

filled as (
    select
        c.*,
        coalesce(h.cafes, 0) as cafes,
        coalesce(h.has_split, false) as has_split
    from ({{ communes_with_population('vintages') }}) as c
    left join harmonised as h using (vintage, commune_code)
)

select
    'cafe_count' as indicator_id,
    vintage,
    null::varchar as base_vintage,
    null::varchar as category,
    commune_code,
    cafes as numerator,
    null::double as denominator,
    null::boolean as flag,
    has_split,
    'insee_sirene ' || vintage as source_vintages
from filled

union all

select 'has_cafe', vintage, null, null, commune_code,
       case when cafes > 0 then population else 0 end, population, cafes > 0, has_split,
       'insee_sirene ' || vintage || ', etalab_decoupage ' || population_vintage
from filled

union all

select 'no_cafe_population_share', vintage, null, null, commune_code,
       case when cafes = 0 then population else 0 end, population, null, has_split,
       'insee_sirene ' || vintage || ', etalab_decoupage ' || population_vintage
from filled
