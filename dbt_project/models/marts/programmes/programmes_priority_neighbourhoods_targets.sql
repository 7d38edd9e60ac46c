{{ config(alias='priority_neighbourhoods_targets') }}
-- programmes.priority_neighbourhoods_targets: see pipelines/programmes/rules/priority_neighbourhoods.yml and the programme_targets macro.
{{ programme_targets('priority_neighbourhoods') }}
