{{ config(alias='zone_emploi') }}
{{ geo_level('zone_emploi') }}
