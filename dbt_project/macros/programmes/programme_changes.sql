{#
  What changed in one programme's list since the last published build (programmes.targets_previous):
  units that entered or left the list, changed tier, or moved by more than the rule file's
  changes.rank_threshold ranks in France, and the rule file's alerts (changes.alerts: an
  indicator whose value was one thing in the previous list and is another now, such as a
  village whose cafe_count went from 1 or more to 0 — "lost its last café"), whether or not
  the unit is on the list. Empty when there is no previous list for the programme. The
  reasons are today's: for a unit that left, they say which criterion it now fails.
#}
{% macro programme_changes(programme) %}
with rule as (
    select * from {{ ref('programmes_rules') }} where programme = '{{ programme }}'
),

alerts as (
    select * from {{ ref('programmes_rule_alerts') }} where programme = '{{ programme }}'
),

previous_all as (
    select * from {{ ref('programmes_targets_previous') }} where programme = '{{ programme }}'
),

current_all as (
    select * from {{ ref('programmes_' ~ programme ~ '_targets') }}
),

previous_list as (
    select * from previous_all where eligible
),

current_list as (
    select * from current_all where eligible
),

compared as (
    select
        coalesce(c.code, p.code) as code,
        p.tier as previous_tier,
        c.tier,
        p.rank_france as previous_rank,
        c.rank_france as rank,
        p.rank_france - c.rank_france as rank_change,
        p.score as previous_score,
        c.score,
        case
            when p.code is null then 'entered'
            when c.code is null then 'left'
            when c.tier <> p.tier then 'tier_changed'
            when p.rank_france - c.rank_france > rule.rank_threshold then 'moved_up'
            when c.rank_france - p.rank_france > rule.rank_threshold then 'moved_down'
        end as change
    from current_list as c
    full outer join previous_list as p on p.code = c.code
    cross join rule
),

-- each criterion's value per unit, in the previous list and now
previous_values as (
    select code, r.indicator_id, any_value(r.value) as value
    from (select code, {{ unnest_list('reasons') }} as r from previous_all)
    group by all
),

current_values as (
    select code, r.indicator_id, any_value(r.value) as value
    from (select code, {{ unnest_list('reasons') }} as r from current_all)
    group by all
),

raised as (
    select
        n.code,
        {{ ordered_text('a.says', "'; '", 'a.alert_no') }} as alert
    from alerts as a
    join current_values as n on n.indicator_id = a.indicator_id
    join previous_values as b on b.indicator_id = a.indicator_id and b.code = n.code
    where {{ programme_comparison('b.value', 'a.before_operator', 'a.before_threshold') }}
      and {{ programme_comparison('n.value', 'a.now_operator', 'a.now_threshold') }}
    group by n.code
),

changed as (
    select
        coalesce(c.code, r.code) as code, c.change, r.alert, c.previous_tier, c.tier, c.previous_rank, c.rank,
        c.rank_change, c.previous_score, c.score
    from (select * from compared where change is not null) as c
    full outer join raised as r on r.code = c.code
),

previous_build as (
    select any_value(build_id) as build_id, any_value(built_at) as built_at, any_value(rule_version) as rule_version
    from previous_all
)

select
    '{{ programme }}' as programme,
    coalesce(now_row.unit, before.unit) as unit,
    changed.code,
    coalesce(now_row.name, before.name) as name,
    coalesce(now_row.commune_code, before.commune_code) as commune_code,
    coalesce(now_row.commune_name, before.commune_name) as commune_name,
    coalesce(now_row.departement_code, before.departement_code) as departement_code,
    changed.change,
    changed.alert,
    coalesce(changed.previous_tier, before.tier) as previous_tier,
    coalesce(changed.tier, now_row.tier) as tier,
    coalesce(changed.previous_rank, before.rank_france) as previous_rank,
    coalesce(changed.rank, now_row.rank_france) as rank,
    coalesce(changed.rank_change, before.rank_france - now_row.rank_france) as rank_change,
    coalesce(changed.previous_score, before.score) as previous_score,
    coalesce(changed.score, now_row.score) as score,
    coalesce(now_row.reason_summary, 'no longer in the programme''s units (a commune merged or renamed, a hospital or quartier gone)') as reason_summary,
    now_row.reasons,
    previous_build.build_id as previous_build_id,
    previous_build.built_at as previous_built_at,
    previous_build.rule_version as previous_rule_version,
    rule.version as rule_version,
    rule.rank_threshold
from changed
cross join rule
cross join previous_build
left join current_all as now_row on now_row.code = changed.code
left join previous_all as before on before.code = changed.code
where exists (select 1 from previous_all)
order by
    case changed.change when 'entered' then 1 when 'left' then 2 when 'tier_changed' then 3 when 'moved_up' then 4 when 'moved_down' then 4 else 5 end,
    coalesce(changed.rank, changed.previous_rank, now_row.rank_france),
    changed.code
{% endmacro %}


{# Whether `value` <operator> `threshold` holds, the operator being a column (<, <=, >, >=, =). #}
{% macro programme_comparison(value, operator, threshold) -%}
    case {{ operator }}
        when '<' then {{ value }} < {{ threshold }}
        when '<=' then {{ value }} <= {{ threshold }}
        when '>' then {{ value }} > {{ threshold }}
        when '>=' then {{ value }} >= {{ threshold }}
        when '=' then {{ value }} = {{ threshold }}
    end
{%- endmacro %}
