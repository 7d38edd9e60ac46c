{# A commune code is a 5-character string: numeric codes that lost their leading zero
   (1001 → 01001) are padded; Corsican codes (2A004) and overseas codes (97411) keep theirs. #}
{% macro normalise_commune_code(expr) -%}
    case
        when {{ expr }} is null or trim({{ expr }}) = '' then null
        when {{ regex_matches('trim(' ~ expr ~ ')', "'^[0-9]{1,5}$'") }} then lpad(trim({{ expr }}), 5, '0')
        else upper(trim({{ expr }}))
    end
{%- endmacro %}

{# The city of an arrondissement municipal code (751xx → 75056, 6938x → 69123, 132xx →
   13055); any other code as it is. #}
{% macro plm_city_code(expr) -%}
    case
        when {{ expr }} like '751%' then '75056'
        when {{ expr }} like '6938%' then '69123'
        when {{ expr }} like '132%' then '13055'
        else {{ expr }}
    end
{%- endmacro %}
