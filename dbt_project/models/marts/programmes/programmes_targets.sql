{{ config(alias='targets', materialized='view') }}
-- programmes.targets: every programme's targets in one view (one row per programme and commune).
-- A new programme is added here as well as in its own two models.
{% set programmes = ['cafes', 'medical_deserts', 'mobility', 'seniors', 'priority_neighbourhoods', 'hospital_outreach', 'town_centres', 'outreach_paca'] %}
{% set relations = [] %}
{% for programme in programmes %}{% do relations.append(ref('programmes_' ~ programme ~ '_targets')) %}{% endfor %}
{{ union_by_name(relations) }}
