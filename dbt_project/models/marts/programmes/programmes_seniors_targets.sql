{{ config(alias='seniors_targets') }}
-- programmes.seniors_targets: see pipelines/programmes/rules/seniors.yml and the programme_targets macro.
{{ programme_targets('seniors') }}
