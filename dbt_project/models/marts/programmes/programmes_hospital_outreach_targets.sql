{{ config(alias='hospital_outreach_targets') }}
-- programmes.hospital_outreach_targets: see pipelines/programmes/rules/hospital_outreach.yml and the programme_targets macro.
{{ programme_targets('hospital_outreach') }}
