{{ config(alias='rules') }}
-- programmes.rules: one row per programme rule file (pipelines/programmes/rules/).
select * from {{ source('programme_rules', 'programmes') }}
