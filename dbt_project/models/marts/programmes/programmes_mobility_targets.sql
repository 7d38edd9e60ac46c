{{ config(alias='mobility_targets') }}
-- programmes.mobility_targets: see pipelines/programmes/rules/mobility.yml and the programme_targets macro.
{{ programme_targets('mobility') }}
