{{ config(alias='changes', materialized='view') }}
-- programmes.changes: every programme's changes since the last published build, in one view.
{% set programmes = ['cafes', 'medical_deserts', 'mobility', 'seniors', 'priority_neighbourhoods', 'hospital_outreach', 'town_centres', 'outreach_paca'] %}
{% set relations = [] %}
{% for programme in programmes %}{% do relations.append(ref('programmes_' ~ programme ~ '_changes')) %}{% endfor %}
{{ union_by_name(relations) }}
