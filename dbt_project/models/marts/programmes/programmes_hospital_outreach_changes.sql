{{ config(alias='hospital_outreach_changes') }}
-- programmes.hospital_outreach_changes: what changed in the list since the last published build.
{{ programme_changes('hospital_outreach') }}
