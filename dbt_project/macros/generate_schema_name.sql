{# Schemas are part of the published interface (geo, indicators, programmes, meta):
   use the configured schema name as it is, without dbt's target prefix. #}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
