-- qpv_count and qpv_population_share above the commune: each quartier counts once per
-- area it touches, however many of the area's communes it spans. As everywhere, the share
-- is taken over the communes whose value is known (here: whose quartiers all have a known
-- population), coverage says how much of the area that is, and below the indicator's
-- min_coverage the area has no value.
{% set levels = [] %}
{% for level, key in rollup_level_keys() if level != 'commune' %}{% do levels.append((level, key)) %}{% endfor %}
with links as (
    select q.*{% for level, key in levels if key.endswith('_code') %}, g.{{ key }}{% endfor %}
    from {{ ref('int_qpv_communes') }} as q
    join {{ ref('geo_commune') }} as g using (commune_code)
    where g.zone in ('metro', 'drom')
),

parts as (
    select * from {{ ref('int_indicator_parts__qpv') }}
),

areas as (
    {% for level, key in levels %}
    select
        p.vintage,
        p.indicator_id,
        '{{ level }}' as level,
        {{ key }} as code,
        sum(p.denominator) filter (where p.numerator is not null) as population,
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

-- A commune whose quartiers are not all of known population has no share.
unknown_communes as (
    select vintage, commune_code
    from parts
    where indicator_id = 'qpv_population_share' and numerator is null
),

quartiers as (
    {% for level, key in levels %}
    select vintage, '{{ level }}' as level, {{ key }} as code,
           count(distinct qpv_code)::double as quartiers,
           -- the quartiers touching a commune of unknown share are left out with it
           sum(population) filter (where is_known) as qpv_population,
           bool_or(commune_span > 1) as has_split
    from (
        select
            l.vintage, l.qpv_code, l.population, l.commune_span, {{ key }},
            bool_and(u.commune_code is null) over (partition by l.vintage, l.qpv_code) as is_known
        from links as l
        left join unknown_communes as u using (vintage, commune_code)
        where {{ key }} is not null
        qualify row_number() over (partition by l.vintage, l.qpv_code, {{ key }} order by l.commune_code) = 1
    )
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
        when a.coverage < coalesce(d.min_coverage, {{ var('min_coverage') }}) then null
        else 100.0 * coalesce(q.qpv_population, 0) / nullif(a.population, 0)
    end::double as value,
    case
        when a.indicator_id = 'qpv_count' then coalesce(q.quartiers, 0)
        else coalesce(q.qpv_population, 0)
    end as numerator,
    case when a.indicator_id = 'qpv_count' then null else a.population end as denominator,
    a.coverage,
    a.commune_count,
    coalesce(q.has_split, false) as has_split,
    a.source_vintages
from areas as a
join {{ ref('indicator_definitions') }} as d using (indicator_id)
left join quartiers as q using (vintage, level, code)
