{#
  What changed in one programme's list since the last published build (programmes.targets_previous):
  communes that entered or left the list, changed tier, or moved by more than the rule file's
  changes.rank_threshold ranks in France. Empty when there is no previous list for the programme.
  The reasons are today's: for a commune that left, they say which criterion it now fails.
#}
{% macro programme_changes(programme) %}
with rule as (
    select * from {{ ref('programmes_rules') }} where programme = '{{ programme }}'
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
        coalesce(c.commune_code, p.commune_code) as commune_code,
        p.tier as previous_tier,
        c.tier,
        p.rank_france as previous_rank,
        c.rank_france as rank,
        p.rank_france - c.rank_france as rank_change,
        p.score as previous_score,
        c.score,
        case
            when p.commune_code is null then 'entered'
            when c.commune_code is null then 'left'
            when c.tier <> p.tier then 'tier_changed'
            when p.rank_france - c.rank_france > rule.rank_threshold then 'moved_up'
            when c.rank_france - p.rank_france > rule.rank_threshold then 'moved_down'
        end as change
    from current_list as c
    full outer join previous_list as p on p.commune_code = c.commune_code
    cross join rule
),

previous_build as (
    select any_value(build_id) as build_id, any_value(built_at) as built_at, any_value(rule_version) as rule_version
    from previous_all
)

select
    '{{ programme }}' as programme,
    compared.commune_code,
    coalesce(now_row.commune_name, before.commune_name) as commune_name,
    coalesce(now_row.departement_code, before.departement_code) as departement_code,
    compared.change,
    compared.previous_tier,
    compared.tier,
    compared.previous_rank,
    compared.rank,
    compared.rank_change,
    compared.previous_score,
    compared.score,
    coalesce(now_row.reason_summary, 'the commune is no longer in the geography (merged or renamed)') as reason_summary,
    now_row.reasons,
    previous_build.build_id as previous_build_id,
    previous_build.built_at as previous_built_at,
    previous_build.rule_version as previous_rule_version,
    rule.version as rule_version,
    rule.rank_threshold
from compared
cross join rule
cross join previous_build
left join current_all as now_row on now_row.commune_code = compared.commune_code
left join previous_all as before on before.commune_code = compared.commune_code
where compared.change is not null
  and exists (select 1 from previous_all)
order by
    case compared.change when 'entered' then 1 when 'left' then 2 when 'tier_changed' then 3 else 4 end,
    coalesce(compared.rank, compared.previous_rank),
    compared.commune_code
{% endmacro %}
