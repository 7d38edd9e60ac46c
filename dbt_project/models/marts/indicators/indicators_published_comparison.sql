{{ config(alias='published_comparison') }}
-- indicators.published_comparison: values another portal published (the Observatoire des
-- territoires, INSEE Statistiques locales, CartoSanté: stg_anct_observatoire__values) for an
-- indicator the warehouse computes too (seed published_indicator_matches), beside the
-- warehouse's value at the same level, code and year. A published value of a territory or
-- year the warehouse does not have is kept, with no warehouse value.
with published as (
    select
        v.level,
        v.code,
        v.commune_name as label,
        v.dataset,
        v.indicator as published_indicator,
        m.indicator_id,
        v.year::varchar as vintage,
        v.value as published_value,
        v.is_secret,
        v.vintage as source_vintage,
        v.source_file
    from {{ ref('stg_anct_observatoire__values') }} as v
    join {{ ref('published_indicator_matches') }} as m
        on lower(trim(regexp_replace(v.indicator, '\s+(19|20)[0-9]{2}\s*$', ''))) = lower(trim(m.published_label))
),

warehouse as (
    select indicator_id, level, code, vintage, value, coverage
    from {{ ref('indicators_long') }}
    where category is null
)

select
    p.level,
    p.code,
    p.label,
    p.indicator_id,
    p.vintage,
    p.published_value,
    w.value as warehouse_value,
    w.value - p.published_value as difference,
    100.0 * (w.value - p.published_value) / nullif(abs(p.published_value), 0) as difference_pct,
    w.coverage as warehouse_coverage,
    p.is_secret,
    p.dataset,
    p.published_indicator,
    p.source_vintage,
    p.source_file
from published as p
left join warehouse as w using (indicator_id, level, code, vintage)
