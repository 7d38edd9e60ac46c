{{ config(alias='arrondissement') }}
{{ geo_level('arrondissement') }}
