{{ config(alias='cafes_targets') }}
-- programmes.cafes_targets: see pipelines/programmes/rules/cafes.yml and the programme_targets macro.
{{ programme_targets('cafes') }}
