{# Roll commune-level parts up to every level of the target geography.

   parts: indicator_id, vintage, base_vintage, category, commune_code, numerator,
   denominator, flag, has_split, source_vintages.
   Numerators and denominators are summed at each level; the value is then recomputed from
   the sums by the indicator's formula (indicator_definitions), never averaged from
   lower-level values. Indicators whose `levels` is 'commune' stay at commune level. #}
{% macro rollup_to_levels(parts, geography) %}
with parts as (
    select p.*, g.epci_code, g.departement_code, g.region_code
    from {{ parts }} as p
    join {{ geography }} as g using (commune_code)
),

definitions as (
    select * from {{ ref('indicator_definitions') }}
),

levels as (
    {% for level, key in [('commune', 'commune_code'), ('epci', 'epci_code'), ('departement', 'departement_code'), ('region', 'region_code'), ('france', "'FR'")] %}
    select
        p.indicator_id,
        '{{ level }}' as level,
        {{ key }} as code,
        p.vintage,
        p.base_vintage,
        p.category,
        sum(p.numerator) as numerator,
        sum(p.denominator) as denominator,
        bool_or(p.flag) as flag,
        count(*) as commune_count,
        bool_or(coalesce(p.has_split, false)) as has_split,
        min(p.source_vintages) as source_vintages
    from parts as p
    {% if level != 'commune' %}
    join definitions as d on d.indicator_id = p.indicator_id and d.levels = 'all'
    {% endif %}
    where {{ key }} is not null
    group by all
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

-- A category's share is taken of the area's population across all categories.
shares as (
    select
        *,
        sum(numerator) over (partition by indicator_id, level, code, vintage) as category_total
    from levels
)

select
    l.indicator_id,
    l.level,
    l.code,
    l.vintage,
    l.base_vintage,
    l.category,
    case
        when d.formula = 'sum' then l.numerator
        when d.formula = 'ratio_pct' then 100.0 * l.numerator / nullif(l.denominator, 0)
        when d.formula = 'per_10k' then 10000.0 * l.numerator / nullif(l.denominator, 0)
        when d.formula = 'weighted_mean' then l.numerator / nullif(l.denominator, 0)
        when d.formula = 'annual_change_pct' then
            100.0 * (power(l.numerator / nullif(l.denominator, 0),
                           1.0 / (l.vintage[1:4]::integer - l.base_vintage[1:4]::integer)) - 1)
        when d.formula = 'flag' then l.flag::integer
        when d.formula = 'flag_share' and l.level = 'commune' then l.flag::integer
        when d.formula = 'flag_share' then 100.0 * l.numerator / nullif(l.denominator, 0)
        when d.formula = 'category' and l.level = 'commune' then c.category_rank
        when d.formula = 'category' then 100.0 * l.numerator / nullif(l.category_total, 0)
    end::double as value,
    l.numerator,
    case when d.formula = 'category' then l.category_total else l.denominator end as denominator,
    l.commune_count,
    l.has_split,
    l.source_vintages
from shares as l
join definitions as d using (indicator_id)
left join {{ ref('indicator_categories') }} as c
    on c.indicator_id = l.indicator_id and c.category = l.category
{% endmacro %}
