{{ config(alias='bassin_vie') }}
{{ geo_level('bassin_vie') }}
