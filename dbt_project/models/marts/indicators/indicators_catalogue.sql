{{ config(alias='catalogue') }}
-- What each indicator means, where it comes from, which vintages it has and at which
-- levels it is published (those of indicators.long with at least one value).
with vintages as (
    select
        indicator_id,
        {{ sorted_set('vintage') }} as vintages,
        max(vintage) as latest_vintage
    from {{ ref('indicators_long') }}
    group by indicator_id
),

levels as (
    select indicator_id, {{ sorted_set('level') }} as levels
    from {{ ref('indicators_long') }}
    where value is not null
    group by indicator_id
)

select
    d.indicator_id,
    d.label_fr,
    d.unit,
    d.definition,
    d.sources,
    d.aggregation,
    d.formula,
    coalesce(d.min_coverage, {{ var('min_coverage') }})::double as min_coverage,
    coalesce(v.vintages, []::varchar[]) as vintages,
    v.latest_vintage,
    coalesce(l.levels, []::varchar[]) as levels
from {{ ref('indicator_definitions') }} as d
left join vintages as v using (indicator_id)
left join levels as l using (indicator_id)
