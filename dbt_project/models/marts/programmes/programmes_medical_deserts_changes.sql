{{ config(alias='medical_deserts_changes') }}
-- programmes.medical_deserts_changes: what changed in the list since the last published build.
{{ programme_changes('medical_deserts') }}
