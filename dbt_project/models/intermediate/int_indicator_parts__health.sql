-- DREES APL: gp_apl and gp_apl_under_65 (weighted by the standardised population) and the
-- medical_desert flag (APL < 2.5), on the target geography. Arrondissements of Paris, Lyon
-- and Marseille are weighted into their city like merged communes.
with apl as (
    {{ harmonise_to_target(
        "(select vintage, commune_code, apl_gp * standardised_population as apl_weighted,"
        ~ " apl_gp_under_65 * standardised_population as apl_under_65_weighted,"
        ~ " standardised_population, total_population from " ~ ref('stg_drees_apl__communes') ~ ")",
        ['apl_weighted', 'apl_under_65_weighted', 'standardised_population', 'total_population']
    ) }}
),

flagged as (
    select
        *,
        apl_weighted / nullif(standardised_population, 0) < {{ var('medical_desert_apl_threshold') }} as is_desert
    from apl
)

select
    'gp_apl' as indicator_id,
    vintage,
    null::varchar as base_vintage,
    null::varchar as category,
    commune_code,
    apl_weighted as numerator,
    standardised_population as denominator,
    null::boolean as flag,
    has_split,
    'drees_apl ' || vintage as source_vintages
from flagged

union all

select 'gp_apl_under_65', vintage, null, null, commune_code, apl_under_65_weighted, standardised_population,
       null, has_split, 'drees_apl ' || vintage
from flagged

union all

select 'medical_desert', vintage, null, null, commune_code,
       case when is_desert then total_population else 0 end, total_population,
       coalesce(is_desert, false), has_split, 'drees_apl ' || vintage
from flagged
