{{ config(alias='town_centres_changes') }}
-- programmes.town_centres_changes: what changed in the list since the last published build.
{{ programme_changes('town_centres') }}
