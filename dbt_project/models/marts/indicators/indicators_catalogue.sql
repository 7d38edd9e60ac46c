{{ config(alias='catalogue') }}
-- What each indicator means, where it comes from and which vintages it has.
with vintages as (
    select
        indicator_id,
        {{ sorted_set('vintage') }} as vintages,
        max(vintage) as latest_vintage
    from {{ ref('indicators_long') }}
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
    v.latest_vintage
from {{ ref('indicator_definitions') }} as d
left join vintages as v using (indicator_id)
