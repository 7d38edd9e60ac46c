{{ config(alias='long') }}
-- Every indicator at every level (commune, epci, departement, region, france and INSEE's
-- arrondissement, canton, zone_emploi, unite_urbaine, aire_attraction, bassin_vie), every
-- vintage, on the target geography. France means metropolitan France and the DROM (the
-- scope of the INSEE statistics behind the indicators); the COM have no indicators.
with geography as (
    select *
    from {{ ref('geo_commune') }}
    where zone in ('metro', 'drom')
),

rolled as (
    {{ rollup_to_levels(ref('int_indicator_parts'), 'geography') }}
),

custom_levels as (
    select * from {{ ref('int_indicator_levels__qpv') }}
),

all_rows as (
    {{ union_by_name(['rolled', 'custom_levels']) }}
)

select
    indicator_id,
    level,
    code,
    vintage,
    (select geography_vintage from {{ ref('int_geography_target') }}) as geography_vintage,
    value,
    numerator,
    denominator,
    -- share of the level's population whose commune has a known value (1 at commune level
    -- when known, 0 when not); below the indicator's min_coverage a level has no value
    coverage,
    category,
    base_vintage,
    source_vintages,
    commune_count,
    has_split
from all_rows
