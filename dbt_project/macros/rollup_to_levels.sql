{# Roll commune-level parts up to every level of the target geography.

   parts: indicator_id, vintage, base_vintage, category, commune_code, numerator,
   denominator, flag, has_split, source_vintages, and optionally commune_value (the value
   to show at commune level when the formula has nothing to divide by, e.g. the APL DREES
   publishes for a commune whose standardised population is 0).
   geography: commune_code, population and the key of every level of rollup_level_keys()
   (epci_code, departement_code, region_code, arrondissement_code … bassin_vie_code). A
   commune whose key is null (a level never loaded) is in no area of that level.

   Numerators and denominators are summed at each level over the communes where both are
   known (for flags: where the flag is known); the value is then recomputed from the sums
   by the indicator's formula (indicator_definitions), never averaged from lower-level
   values. `coverage` is the share of the level's population living in a commune whose
   value is known; a level whose coverage is below the indicator's min_coverage (seed, else
   the var min_coverage) gets no value rather than one biased towards the communes that
   have it. Indicators whose `levels` is 'commune' stay at commune level. #}
{# The levels indicators are published at, and the column of geo.commune each is keyed on. #}
{% macro rollup_level_keys() %}
{{ return([
    ('commune', 'commune_code'), ('epci', 'epci_code'), ('departement', 'departement_code'),
    ('region', 'region_code'), ('france', "'FR'"),
    ('arrondissement', 'arrondissement_code'), ('canton', 'canton_code'), ('zone_emploi', 'zone_emploi_code'),
    ('unite_urbaine', 'unite_urbaine_code'), ('aire_attraction', 'aire_attraction_code'), ('bassin_vie', 'bassin_vie_code'),
]) }}
{% endmacro %}

{% macro rollup_to_levels(parts, geography) %}
{% set rollup_levels = rollup_level_keys() %}
{% set area_keys = [] %}
{% for level, key in rollup_levels if key.endswith('_code') and key != 'commune_code' %}{% do area_keys.append(key) %}{% endfor %}
with geography as (
    select commune_code, {{ area_keys | join(', ') }}, coalesce(population, 0) as population
    from {{ geography }}
),

parts as (
    select
        p.*,
        {% for key in area_keys %}g.{{ key }},
        {% endfor %}g.population as commune_population,
        case
            when d.formula in ('sum', 'category') then p.numerator is not null
            when d.formula = 'flag' then p.flag is not null
            when d.formula = 'flag_share' then p.flag is not null and p.numerator is not null and p.denominator is not null
            else p.numerator is not null and p.denominator is not null
        end as is_known
    from {{ parts }} as p
    join geography as g using (commune_code)
    join {{ ref('indicator_definitions') }} as d using (indicator_id)
),

definitions as (
    select
        *,
        coalesce(min_coverage, {{ var('min_coverage') }}) as coverage_needed
    from {{ ref('indicator_definitions') }}
),

-- One row per indicator, vintage and commune whose value is known (categories count once).
known_communes as (
    select distinct indicator_id, vintage, commune_code, commune_population,
           {{ area_keys | join(', ') }}
    from parts
    where is_known
),

{% for level, key in rollup_levels %}
population_{{ level }} as (
    select {{ key }} as code, sum(population) as population
    from geography
    where {{ key }} is not null
    group by all
),
{% endfor %}

coverage as (
    {% for level, key in rollup_levels %}
    select
        k.indicator_id,
        k.vintage,
        '{{ level }}' as level,
        {{ key }} as code,
        sum(k.commune_population) / nullif(any_value(t.population), 0) as coverage
    from known_communes as k
    join population_{{ level }} as t on t.code = {{ key }}
    where {{ key }} is not null
    group by all
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

levels as (
    {% for level, key in rollup_levels %}
    select
        p.indicator_id,
        '{{ level }}' as level,
        {{ key }} as code,
        p.vintage,
        p.base_vintage,
        p.category,
        sum(p.numerator) filter (where p.is_known) as numerator,
        sum(p.denominator) filter (where p.is_known) as denominator,
        bool_or(p.flag) filter (where p.is_known) as flag,
        {% if level == 'commune' %}max(p.commune_value){% else %}null::double{% endif %} as commune_value,
        count(*) filter (where p.is_known) as commune_count,
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
        l.*,
        sum(l.numerator) over (partition by l.indicator_id, l.level, l.code, l.vintage) as category_total,
        coalesce(c.coverage, 0) as coverage
    from levels as l
    left join coverage as c using (indicator_id, vintage, level, code)
),

computed as (
    select
        l.*,
        d.formula,
        l.level = 'commune' or l.coverage >= d.coverage_needed as is_covered,
        case
            when d.formula = 'sum' then l.numerator
            when d.formula = 'ratio_pct' then 100.0 * l.numerator / nullif(l.denominator, 0)
            when d.formula = 'per_10k' then 10000.0 * l.numerator / nullif(l.denominator, 0)
            when d.formula = 'per_1000' then 1000.0 * l.numerator / nullif(l.denominator, 0)
            when d.formula = 'weighted_mean' then coalesce(l.numerator / nullif(l.denominator, 0), l.commune_value)
            when d.formula = 'annual_change_pct' then
                100.0 * (power(l.numerator / nullif(l.denominator, 0),
                               1.0 / (l.vintage[1:4]::integer - l.base_vintage[1:4]::integer)) - 1)
            when d.formula = 'flag' then l.flag::integer
            when d.formula = 'flag_share' and l.level = 'commune' then l.flag::integer
            when d.formula = 'flag_share' then 100.0 * l.numerator / nullif(l.denominator, 0)
            when d.formula = 'category' and l.level = 'commune' then c.category_rank
            when d.formula = 'category' then 100.0 * l.numerator / nullif(l.category_total, 0)
        end::double as formula_value
    from shares as l
    join definitions as d using (indicator_id)
    left join {{ ref('indicator_categories') }} as c
        on c.indicator_id = l.indicator_id and c.category = l.category
)

select
    indicator_id,
    level,
    code,
    vintage,
    base_vintage,
    category,
    case when is_covered then formula_value end as value,
    numerator,
    case when formula = 'category' then category_total else denominator end as denominator,
    coverage,
    commune_count,
    has_split,
    source_vintages
from computed

union all

-- An area none of whose communes has a value still gets its row, saying so: no value,
-- coverage 0 (typologies excepted: their rows are per category).
select
    v.indicator_id,
    t.level,
    t.code,
    v.vintage,
    v.base_vintage,
    null::varchar as category,
    null::double as value,
    null::double as numerator,
    null::double as denominator,
    0.0 as coverage,
    0 as commune_count,
    false as has_split,
    v.source_vintages
from (
    select indicator_id, vintage, min(base_vintage) as base_vintage, min(source_vintages) as source_vintages
    from computed
    where level <> 'commune' and formula <> 'category'
    group by all
) as v
cross join (
    {% for level, key in rollup_levels if level != 'commune' %}
    select '{{ level }}' as level, code from population_{{ level }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
) as t
where not exists (
    select 1 from computed as c
    where c.indicator_id = v.indicator_id and c.vintage = v.vintage and c.level = t.level and c.code = t.code
)
{% endmacro %}
