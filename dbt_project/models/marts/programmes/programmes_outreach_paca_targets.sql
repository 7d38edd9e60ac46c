{{ config(alias='outreach_paca_targets') }}
-- programmes.outreach_paca_targets: see pipelines/programmes/rules/outreach_paca.yml and the programme_targets macro.
{{ programme_targets('outreach_paca') }}
