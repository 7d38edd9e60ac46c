-- DREES APL: gp_apl and gp_apl_under_65 (weighted by the standardised population) and the
-- medical_desert flag (APL < 2.5), on the target geography. Arrondissements of Paris, Lyon
-- and Marseille are weighted into their city like merged communes.
-- Unknown stays unknown: a commune without an APL has no medical_desert flag (not "not a
-- desert"). A commune whose standardised population is 0 has nothing to weigh by: it keeps
-- the APL DREES publishes for it (commune_value), and weighs nothing above it.
with apl as (
    {{ harmonise_to_target(
        "(select vintage, commune_code, apl_gp * standardised_population as apl_weighted,"
        ~ " apl_gp_under_65 * standardised_population as apl_under_65_weighted,"
        ~ " apl_gp, apl_gp_under_65,"
        ~ " standardised_population, total_population from " ~ ref('stg_drees_apl__communes') ~ ")",
        ['apl_weighted', 'apl_under_65_weighted', 'apl_gp', 'apl_gp_under_65', 'standardised_population', 'total_population']
    ) }}
),

published as (
    select
        *,
        -- the published APL of a single commune with nothing to weigh by
        case when standardised_population = 0 and source_codes = 1 then apl_gp end as apl_as_published,
        case when standardised_population = 0 and source_codes = 1 then apl_gp_under_65 end as apl_under_65_as_published
    from apl
),

flagged as (
    select
        *,
        coalesce(apl_weighted / nullif(standardised_population, 0), apl_as_published)
            < {{ var('medical_desert_apl_threshold') }} as is_desert
    from published
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
    apl_as_published as commune_value,
    has_split,
    'drees_apl ' || vintage as source_vintages
from flagged

union all

select 'gp_apl_under_65', vintage, null, null, commune_code, apl_under_65_weighted, standardised_population,
       null, apl_under_65_as_published, has_split, 'drees_apl ' || vintage
from flagged

union all

select 'medical_desert', vintage, null, null, commune_code,
       case when is_desert then total_population when not is_desert then 0 end, total_population,
       is_desert, null, has_split, 'drees_apl ' || vintage
from flagged
