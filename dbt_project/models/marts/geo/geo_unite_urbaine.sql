{{ config(alias='unite_urbaine') }}
{{ geo_level('unite_urbaine') }}
