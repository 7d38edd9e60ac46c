{# Roll commune-level parts (indicator_id, vintage, base_vintage, commune_code, numerator,
   denominator) up to every level of the target geography. Numerators and denominators are
   summed at each level; the value is then recomputed from the sums by the indicator's
   formula (indicator_definitions seed), never averaged from lower-level values. #}
{% macro rollup_to_levels(parts, geography) %}
with parts as (
    select p.*, g.epci_code, g.departement_code, g.region_code
    from {{ parts }} as p
    join {{ geography }} as g using (commune_code)
),
levels as (
    {% for level, key in [('commune', 'commune_code'), ('epci', 'epci_code'), ('departement', 'departement_code'), ('region', 'region_code'), ('france', "'FR'")] %}
    select
        indicator_id,
        '{{ level }}' as level,
        {{ key }} as code,
        vintage,
        base_vintage,
        sum(numerator) as numerator,
        sum(denominator) as denominator,
        count(*) as commune_count,
        bool_or(coalesce(has_split, false)) as has_split
    from parts
    where {{ key }} is not null
    group by all
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
)
select
    l.indicator_id,
    l.level,
    l.code,
    l.vintage,
    l.base_vintage,
    case d.formula
        when 'sum' then l.numerator
        when 'ratio_pct' then 100.0 * l.numerator / nullif(l.denominator, 0)
        when 'per_10k' then 10000.0 * l.numerator / nullif(l.denominator, 0)
        when 'weighted_mean' then l.numerator / nullif(l.denominator, 0)
        when 'annual_change_pct' then
            100.0 * (power(l.numerator / nullif(l.denominator, 0),
                           1.0 / (l.vintage::integer - l.base_vintage::integer)) - 1)
    end as value,
    l.numerator,
    l.denominator,
    l.commune_count,
    l.has_split
from levels as l
join {{ ref('indicator_definitions') }} as d using (indicator_id)
{% endmacro %}
