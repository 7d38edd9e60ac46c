-- poverty_rate and median_living_standard from INSEE Filosofi, on the target geography.
-- Absent where INSEE keeps them secret (too few households), never 0. The poverty rate
-- above the commune is the household-weighted mean of the communes' rates, over the
-- communes that have one; the median standard of living is published for communes only
-- (a median of several communes cannot be rebuilt from theirs), and a commune nouvelle made
-- of several Filosofi communes has none.
with filosofi as (
    select
        vintage,
        commune_code,
        households,
        poverty_rate * households as poor_weighted,
        median_living_standard * households as median_weighted
    from {{ ref('stg_insee_filosofi__communes') }}
),

harmonised as (
    {{ harmonise_to_target('filosofi', ['households', 'poor_weighted', 'median_weighted']) }}
)

select
    'poverty_rate' as indicator_id,
    vintage,
    null::varchar as base_vintage,
    null::varchar as category,
    commune_code,
    poor_weighted as numerator,
    case when poor_weighted is not null then households end as denominator,
    null::boolean as flag,
    has_split,
    'insee_filosofi ' || vintage as source_vintages
from harmonised

union all

select
    'median_living_standard', vintage, null, null, commune_code,
    case when source_codes = 1 then median_weighted end,
    case when source_codes = 1 and median_weighted is not null then households end,
    null, has_split, 'insee_filosofi ' || vintage
from harmonised
