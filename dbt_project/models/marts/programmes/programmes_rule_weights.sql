{{ config(alias='rule_weights') }}
-- programmes.rule_weights: the weighted indicators of every programme's priority score.
select * from {{ source('programme_rules', 'weights') }}
