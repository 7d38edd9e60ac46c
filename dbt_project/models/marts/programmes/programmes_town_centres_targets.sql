{{ config(alias='town_centres_targets') }}
-- programmes.town_centres_targets: see pipelines/programmes/rules/town_centres.yml and the programme_targets macro.
{{ programme_targets('town_centres') }}
