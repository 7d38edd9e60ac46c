{{ config(alias='unit_values') }}
-- programmes.unit_values: the value of each indicator for each unit a programme can target,
-- one row per unit, code and indicator (and category, for typologies) — what programmes
-- judge and rank units on. Communes: the latest vintage of each indicator at commune level
-- (indicators.long). Hospitals: their catchment (programmes.catchments). Quartiers: INSEE's
-- statistics and their distances (int_qpv_values). Indicators of hospitals and quartiers
-- are defined in the seed unit_indicator_definitions.
with commune_latest as (
    select indicator_id, max(vintage) as vintage
    from {{ ref('indicators_long') }}
    where level = 'commune'
    group by indicator_id
),

communes as (
    select 'commune' as unit, l.code, l.indicator_id, l.value, l.category, l.vintage, l.source_vintages
    from {{ ref('indicators_long') }} as l
    join commune_latest as v on v.indicator_id = l.indicator_id and v.vintage = l.vintage
    where l.level = 'commune'
),

catchments as (
    select
        c.code,
        sum(c.population)::double as population,
        sum(c.population) filter (where c.is_medical_desert)::double as desert_population,
        sum(c.population) filter (where c.is_medical_desert is not null)::double as population_with_apl,
        sum(c.gp_count) as gp_count,
        sum(c.population) filter (where c.gp_count is not null)::double as population_with_gp_count,
        count(*)::double as commune_count,
        max(c.apl_vintage) as apl_vintage,
        max(c.bpe_vintage) as bpe_vintage,
        max(c.geography_vintage) as geography_vintage
    from {{ ref('programmes_catchments') }} as c
    group by c.code
),

finess as (
    select max(vintage) as vintage from {{ ref('stg_finess__establishments') }}
),

hospitals as (
    select
        'hospital' as unit,
        c.code,
        i.indicator_id,
        i.value,
        null::varchar as category,
        i.vintage,
        'finess ' || f.vintage || ', ' || i.sources || ', etalab_decoupage ' || c.geography_vintage || ', commune_locations' as source_vintages
    from catchments as c
    cross join finess as f
    cross join lateral (
        select * from (values
            ('catchment_population', c.population, c.geography_vintage, 'etalab_decoupage ' || c.geography_vintage),
            ('catchment_desert_population', coalesce(c.desert_population, 0), c.apl_vintage, 'drees_apl ' || c.apl_vintage),
            ('catchment_desert_share', 100.0 * coalesce(c.desert_population, 0) / nullif(c.population_with_apl, 0), c.apl_vintage, 'drees_apl ' || c.apl_vintage),
            ('catchment_gp_count', c.gp_count, c.bpe_vintage, 'insee_bpe ' || c.bpe_vintage),
            ('catchment_gp_per_10k', 10000.0 * c.gp_count / nullif(c.population_with_gp_count, 0), c.bpe_vintage, 'insee_bpe ' || c.bpe_vintage),
            ('catchment_commune_count', c.commune_count, c.geography_vintage, 'etalab_decoupage ' || c.geography_vintage)
        ) as t (indicator_id, value, vintage, sources)
    ) as i
)

select * from communes
union all
select * from hospitals
union all
select 'qpv' as unit, code, indicator_id, value, null::varchar as category, vintage, source_vintages
from {{ ref('int_qpv_values') }}
