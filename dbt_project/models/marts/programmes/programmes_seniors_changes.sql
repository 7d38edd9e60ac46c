{{ config(alias='seniors_changes') }}
-- programmes.seniors_changes: what changed in the list since the last published build.
{{ programme_changes('seniors') }}
