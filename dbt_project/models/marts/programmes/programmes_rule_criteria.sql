{{ config(alias='rule_criteria') }}
-- programmes.rule_criteria: the eligibility criteria of every programme's rule file.
select * from {{ source('programme_rules', 'criteria') }}
