{{ config(alias='aire_attraction') }}
{{ geo_level('aire_attraction') }}
