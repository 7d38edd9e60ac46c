{{ config(alias='canton') }}
{{ geo_level('canton') }}
