{{ config(alias='priority_neighbourhoods_changes') }}
-- programmes.priority_neighbourhoods_changes: what changed in the list since the last published build.
{{ programme_changes('priority_neighbourhoods') }}
