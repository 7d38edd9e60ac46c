{{ config(alias='cafes_changes') }}
-- programmes.cafes_changes: what changed in the list since the last published build.
{{ programme_changes('cafes') }}
