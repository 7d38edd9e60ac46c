{{ config(alias='mobility_changes') }}
-- programmes.mobility_changes: what changed in the list since the last published build.
{{ programme_changes('mobility') }}
