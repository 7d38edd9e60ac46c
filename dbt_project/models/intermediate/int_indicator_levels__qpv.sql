-- qpv_count and qpv_population_share above the commune: each quartier counts once per
-- area it touches, however many of the area's communes it spans.
with links as (
    select q.*, g.epci_code, g.departement_code, g.region_code
    from {{ ref('int_qpv_communes') }} as q
    join {{ ref('geo_commune') }} as g using (commune_code)
    where g.zone in ('metro', 'drom')
),

parts as (
    select * from {{ ref('int_indicator_parts__qpv') }}
),

{% set levels = [('epci', 'epci_code'), ('departement', 'departement_code'), ('region', 'region_code'), ('france', "'FR'")] %}
areas as (
    {% for level, key in levels %}
    select
        p.vintage,
        p.indicator_id,
        '{{ level }}' as level,
        {{ key }} as code,
        sum(p.denominator) as population,
        -- the share of the area's population whose commune's QPV population is known
        coalesce(sum(g.population) filter (where p.numerator is not null) / nullif(sum(g.population), 0), 0) as coverage,
        count(*) as commune_count,
        min(p.source_vintages) as source_vintages
    from parts as p
    join {{ ref('geo_commune') }} as g using (commune_code)
    where {{ key }} is not null
    group by all
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

quartiers as (
    {% for level, key in levels %}
    select vintage, '{{ level }}' as level, {{ key }} as code,
           count(distinct qpv_code)::double as quartiers,
           -- unknown when one quartier's population is: a partial sum would pass for the whole
           case when count(population) = count(*) then sum(population) end as qpv_population,
           bool_or(commune_span > 1) as has_split
    from (select distinct vintage, qpv_code, population, commune_span, {{ key }} from links where {{ key }} is not null)
    group by all
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
)

select
    a.indicator_id,
    a.level,
    a.code,
    a.vintage,
    null::varchar as base_vintage,
    null::varchar as category,
    case
        when a.indicator_id = 'qpv_count' then coalesce(q.quartiers, 0)
        when q.code is null then 0.0
        else 100.0 * q.qpv_population / nullif(a.population, 0)
    end::double as value,
    case
        when a.indicator_id = 'qpv_count' then coalesce(q.quartiers, 0)
        when q.code is null then 0
        else q.qpv_population
    end as numerator,
    case when a.indicator_id = 'qpv_count' then null else a.population end as denominator,
    a.coverage,
    a.commune_count,
    coalesce(q.has_split, false) as has_split,
    a.source_vintages
from areas as a
left join quartiers as q using (vintage, level, code)
