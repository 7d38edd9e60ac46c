{#
  One programme's targets: every unit of the programme's kind (the rule file's `unit`:
  communes of metropolitan France and the DROM, hospitals or quartiers prioritaires),
  whether it is eligible and in which tier, its priority score, its ranks and the reasons,
  from the rules of pipelines/programmes/rules/<programme>.yml (loaded by the
  programmes_rule_* models). The columns are the same whatever the unit.

  - Every unit is judged on its indicators of int_programme_unit_values (for communes, the
    latest vintage of each indicator at commune level).
  - A unit is eligible when it is in the programme's area (filters, on the commune that
    holds it), every criterion without a tier passes and every criterion of one tier
    passes; its tier is the first such tier. A missing value fails its criterion: it is
    never silently eligible.
  - Score (0-100): weighted mean of each priority indicator scaled to 0-1 over the eligible
    units that have it (percent rank or min-max, 1 = most priority); missing counts 0.
  - Ranks: tier, then score (highest first), then code, so they never tie.
#}
{% macro programme_targets(programme) %}
with rule as (
    select * from {{ ref('programmes_rules') }} where programme = '{{ programme }}'
),

criteria as (
    select * from {{ ref('programmes_rule_criteria') }} where programme = '{{ programme }}'
),

weights as (
    select * from {{ ref('programmes_rule_weights') }} where programme = '{{ programme }}'
),

units as (
    select
        u.unit,
        u.code,
        u.name,
        u.commune_code,
        u.commune_name,
        u.departement_code,
        u.region_code,
        u.epci_code,
        u.population,
        u.geography_vintage,
        -- no filter: everywhere; otherwise in any of the listed areas (régions, départements,
        -- EPCI or INSEE's zones: the commune holding the unit is)
        coalesce(
            {% for name, column in programme_filter_columns() %}{{ list_size('rule.' ~ name) }}{% if not loop.last %} + {% endif %}{% endfor %} = 0
            {% for name, column in programme_filter_columns() %}
            or {{ list_has('rule.' ~ name, 'g.' ~ column) }}
            {% endfor %},
            false
        ) as in_area
    from {{ ref('programmes_units') }} as u
    join rule on rule.unit = u.unit
    left join {{ ref('geo_commune') }} as g on g.commune_code = u.commune_code
),

unit_values as (
    select v.indicator_id, v.code, v.value, v.category, v.vintage, v.source_vintages
    from {{ ref('programmes_unit_values') }} as v
    join rule on rule.unit = v.unit
    where v.indicator_id in (select indicator_id from criteria union select indicator_id from weights)
),

tested as (
    select
        c.code,
        r.criterion_no,
        r.tier,
        r.indicator_id,
        r.operator,
        r.threshold_text,
        v.value,
        v.category,
        v.vintage,
        v.source_vintages,
        case
            when r.compare_to = 'category' then {{ list_has('r.categories', 'v.category') }}
            when v.value is null then null
            when r.operator = '<' then v.value < r.threshold
            when r.operator = '<=' then v.value <= r.threshold
            when r.operator = '>' then v.value > r.threshold
            when r.operator = '>=' then v.value >= r.threshold
            when r.operator = '=' then v.value = r.threshold
            when r.operator = 'in' then {{ list_has('r.threshold_values', 'v.value') }}
        end as passed
    from units as c
    cross join criteria as r
    left join unit_values as v on v.indicator_id = r.indicator_id and v.code = c.code
),

tiers as (
    select distinct tier from criteria where tier is not null
    union all
    select 1 where not exists (select 1 from criteria where tier is not null)
),

tier_results as (
    -- a tier holds when its own criteria and every criterion without a tier pass
    select t.code, tiers.tier, bool_and(coalesce(t.passed, false)) as holds
    from tested as t
    cross join tiers
    where t.tier is null or t.tier = tiers.tier
    group by t.code, tiers.tier
),

first_tier as (
    select code, min(tier) filter (where holds) as tier
    from tier_results
    group by code
),

status as (
    select
        c.*,
        c.in_area and f.tier is not null as eligible,
        case when c.in_area then f.tier end as tier
    from units as c
    left join first_tier as f using (code)
),

reasons as (
    select
        code,
        {{ ordered_list(record({
            'indicator_id': 'indicator_id', 'tier': 'tier', 'value': 'value', 'category': 'category',
            'vintage': 'vintage', 'operator': 'operator', 'threshold': 'threshold_text', 'passed': 'passed',
            'source_vintages': 'source_vintages'
        }), 'criterion_no') }} as reasons,
        {{ ordered_text(
            "coalesce('tier ' || tier || ' ', '') || indicator_id || ' '
            || coalesce(coalesce(category, " ~ programme_number_text('value') ~ ") || ' [' || vintage || ']', '(no value)')
            || ' ' || operator || ' ' || threshold_text || ': '
            || case when passed then 'yes' when not passed then 'no' else 'missing' end",
            "'; '", 'criterion_no'
        ) }} as reason_summary,
        {{ sorted_set('indicator_id') }} filter (where value is null and category is null) as missing_criteria
    from tested
    group by code
),

priority_values as (
    select
        s.code,
        s.eligible,
        w.weight_no,
        w.indicator_id,
        w.weight,
        w.higher_is_priority,
        w.normalise,
        v.value,
        v.vintage,
        v.source_vintages,
        s.eligible and v.value is not null as scaled,
        case when w.higher_is_priority then v.value else -v.value end as priority_value
    from status as s
    cross join weights as w
    left join unit_values as v on v.indicator_id = w.indicator_id and v.code = s.code
),

normalised as (
    select
        *,
        case
            when not eligible then null
            when not scaled then 0.0
            when normalise = 'rank'
                then percent_rank() over (partition by weight_no, scaled order by priority_value)
            else coalesce(
                (priority_value - min(priority_value) over (partition by weight_no, scaled))
                / nullif(max(priority_value) over (partition by weight_no, scaled)
                         - min(priority_value) over (partition by weight_no, scaled), 0),
                0.0
            )
        end as normalised
    from priority_values
),

scores as (
    select
        code,
        -- summed in a fixed order and rounded, so that ranks are the same on every run
        round(100 * {{ list_total(ordered_list('weight * normalised', 'weight_no')) }} / sum(weight), 4) as score,
        {{ ordered_list(record({
            'indicator_id': 'indicator_id', 'value': 'value', 'vintage': 'vintage', 'weight': 'weight',
            'higher_is_priority': 'higher_is_priority', 'normalise': 'normalise',
            'normalised': 'round(normalised, 4)', 'source_vintages': 'source_vintages'
        }), 'weight_no') }} as priority,
        {{ sorted_set('indicator_id') }} filter (where value is null) as missing_priority
    from normalised
    group by code
),

scored as (
    select
        s.*,
        case when s.eligible then coalesce(sc.score, 0.0) end as score,
        sc.priority,
        r.reasons,
        r.reason_summary,
        {{ list_union_sorted('r.missing_criteria', 'sc.missing_priority') }} as missing_indicators
    from status as s
    left join reasons as r using (code)
    left join scores as sc using (code)
),

ranked as (
    select
        *,
        case when eligible then row_number() over (
            partition by eligible order by tier, score desc, code
        ) end as rank_france,
        case when eligible then row_number() over (
            partition by eligible, departement_code order by tier, score desc, code
        ) end as rank_departement
    from scored
)

select
    '{{ programme }}' as programme,
    ranked.unit,
    ranked.code,
    ranked.name,
    ranked.commune_code,
    ranked.commune_name,
    ranked.departement_code,
    ranked.region_code,
    ranked.epci_code,
    ranked.population,
    ranked.in_area,
    ranked.eligible,
    ranked.tier,
    ranked.score,
    ranked.rank_france,
    ranked.rank_departement,
    ranked.reason_summary,
    ranked.reasons,
    ranked.priority,
    ranked.missing_indicators,
    rule.version as rule_version,
    rule.rule_file,
    ranked.geography_vintage,
    now() as computed_at
from ranked
cross join rule
order by ranked.rank_france nulls last, ranked.code
{% endmacro %}


{# A number as a person reads it: 56, 2.262 (at most three decimals). #}
{% macro programme_number_text(expression) -%}
    case
        when {{ expression }} = round({{ expression }}) then (round({{ expression }})::bigint)::varchar
        else round({{ expression }}, 3)::varchar
    end
{%- endmacro %}

{# Each filter of a rule file (pipelines/programmes/rules.py, FILTER_COLUMNS) and the column of
   geo.commune it tests. #}
{% macro programme_filter_columns() %}
{{ return([
    ('regions', 'region_code'), ('departements', 'departement_code'), ('epcis', 'epci_code'),
    ('arrondissements', 'arrondissement_code'), ('cantons', 'canton_code'), ('zones_emploi', 'zone_emploi_code'),
    ('unites_urbaines', 'unite_urbaine_code'), ('aires_attraction', 'aire_attraction_code'), ('bassins_vie', 'bassin_vie_code'),
]) }}
{% endmacro %}
