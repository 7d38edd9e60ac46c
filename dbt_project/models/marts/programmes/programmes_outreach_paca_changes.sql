{{ config(alias='outreach_paca_changes') }}
-- programmes.outreach_paca_changes: what changed in the list since the last published build.
{{ programme_changes('outreach_paca') }}
