{{ config(alias='targets', materialized='view') }}
-- programmes.targets: every programme's targets in one view (one row per programme and commune).
-- A new programme is added here as well as in its own two models.
{% set programmes = ['cafes', 'medical_deserts', 'mobility', 'seniors', 'priority_neighbourhoods'] %}
{% for programme in programmes %}
select * from {{ ref('programmes_' ~ programme ~ '_targets') }}
{% if not loop.last %}union all by name{% endif %}
{% endfor %}
