-- share_75_plus and households_without_car_share from the census, on the target geography.
with age as (
    {{ harmonise_to_target(
        "(select vintage, commune_code, pop_75_plus, population from " ~ ref('stg_insee_census_age__communes') ~ ")",
        ['pop_75_plus', 'population']
    ) }}
),

housing as (
    {{ harmonise_to_target(
        "(select vintage, commune_code, households, households_with_car from "
        ~ ref('stg_insee_census_housing__communes') ~ ")",
        ['households', 'households_with_car']
    ) }}
)

select
    'share_75_plus' as indicator_id,
    vintage,
    null::varchar as base_vintage,
    null::varchar as category,
    commune_code,
    pop_75_plus as numerator,
    population as denominator,
    null::boolean as flag,
    has_split,
    'insee_census_age ' || vintage as source_vintages
from age

union all

select
    'households_without_car_share',
    vintage,
    null,
    null,
    commune_code,
    households - households_with_car,
    households,
    null,
    has_split,
    'insee_census_housing ' || vintage
from housing
