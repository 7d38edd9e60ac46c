{{ config(alias='changes', materialized='view') }}
-- programmes.changes: every programme's changes since the last published build, in one view.
{% set programmes = ['cafes', 'medical_deserts', 'mobility', 'seniors', 'priority_neighbourhoods'] %}
{% for programme in programmes %}
select * from {{ ref('programmes_' ~ programme ~ '_changes') }}
{% if not loop.last %}union all by name{% endif %}
{% endfor %}
