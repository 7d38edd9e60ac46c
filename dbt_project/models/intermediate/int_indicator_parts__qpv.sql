-- qpv_count and qpv_population_share per commune. A quartier spanning several communes
-- counts its whole population for each of them (has_split): its split is not published.
-- Above the commune these two indicators are rebuilt from distinct quartiers
-- (int_indicator_levels__qpv), not summed.
with vintages as (
    select distinct vintage from {{ ref('stg_anct_qpv__quartiers') }}
),

per_commune as (
    select
        vintage,
        commune_code,
        count(*)::double as quartiers,
        sum(population) as qpv_population,
        count(population) = count(*) as population_known,
        bool_or(commune_span > 1) as has_split
    from {{ ref('int_qpv_communes') }}
    group by all
),

filled as (
    select
        f.*,
        coalesce(c.quartiers, 0) as quartiers,
        case when c.commune_code is null then 0 when c.population_known then c.qpv_population end as qpv_population,
        coalesce(c.has_split, false) as has_split
    from ({{ communes_with_population('vintages') }}) as f
    left join per_commune as c using (vintage, commune_code)
)

select
    'qpv_count' as indicator_id,
    vintage,
    null::varchar as base_vintage,
    null::varchar as category,
    commune_code,
    quartiers as numerator,
    null::double as denominator,
    null::boolean as flag,
    has_split,
    'anct_qpv ' || vintage as source_vintages
from filled

union all

-- Absent for vintages whose quartiers have no population (the 2024 contours).
select 'qpv_population_share', vintage, null, null, commune_code, qpv_population, population, null, has_split,
       'anct_qpv ' || vintage || ', etalab_decoupage ' || population_vintage
from filled
where vintage in (select vintage from {{ ref('stg_anct_qpv__quartiers') }} group by vintage having count(population) > 0)
