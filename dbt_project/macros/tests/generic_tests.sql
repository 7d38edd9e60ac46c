{# Generic tests the project needs (dbt packages cannot be installed offline). #}

{% test unique_combination_of_columns(model, combination_of_columns) %}
    select {{ combination_of_columns | join(', ') }}, count(*) as occurrences
    from {{ model }}
    group by {{ combination_of_columns | join(', ') }}
    having count(*) > 1
{% endtest %}

{% test accepted_range(model, column_name, min_value=none, max_value=none, where=none) %}
    select {{ column_name }}
    from {{ model }}
    where {{ column_name }} is not null
      and (
        false
        {% if min_value is not none %} or {{ column_name }} < {{ min_value }} {% endif %}
        {% if max_value is not none %} or {{ column_name }} > {{ max_value }} {% endif %}
      )
      {% if where %} and ({{ where }}) {% endif %}
{% endtest %}

{% test expression_is_true(model, expression) %}
    select * from {{ model }} where not ({{ expression }})
{% endtest %}

{% test commune_code_format(model, column_name) %}
    select {{ column_name }}
    from {{ model }}
    where {{ column_name }} is not null
      and not {{ regex_matches(column_name, "'^([0-9]{2}|2[AB])[0-9]{3}$'") }}
{% endtest %}

{# Every non-null value of the column matches the regular expression `pattern` (anchored with ^ $). #}
{% test matches_pattern(model, column_name, pattern) %}
    select {{ column_name }}
    from {{ model }}
    where {{ column_name }} is not null
      and not {{ regex_matches(column_name, "'" ~ pattern ~ "'") }}
{% endtest %}

{# A warning by default: a source that has not loaded yet leaves its models empty and
   its indicators absent, without stopping the build. #}
{% test not_empty(model) %}
    {{ config(severity='warn') }}
    select 1 where (select count(*) from {{ model }}) = 0
{% endtest %}

{# Commune codes a source uses that the target geography's passage does not know:
   their values cannot be placed on a commune and are left out of the indicators. #}
{% test maps_to_target_geography(model, column_name) %}
    {{ config(severity='warn') }}
    select distinct m.{{ column_name }}
    from {{ model }} as m
    left join {{ ref('geo_commune_passage') }} as p on p.old_code = m.{{ column_name }}
    where m.{{ column_name }} is not null and p.old_code is null
{% endtest %}


{# Every indicator id of the column is defined: an indicator of indicators.long
   (indicator_definitions) or of a programme unit (unit_indicator_definitions). #}
{% test defined_indicator(model, column_name) %}
    select {{ column_name }}
    from {{ model }}
    where {{ column_name }} is not null
      and {{ column_name }} not in (select indicator_id from {{ ref('indicator_definitions') }})
      and {{ column_name }} not in (select indicator_id from {{ ref('unit_indicator_definitions') }})
{% endtest %}
