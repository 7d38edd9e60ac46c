{{ config(alias='medical_deserts_targets') }}
-- programmes.medical_deserts_targets: see pipelines/programmes/rules/medical_deserts.yml and the programme_targets macro.
{{ programme_targets('medical_deserts') }}
