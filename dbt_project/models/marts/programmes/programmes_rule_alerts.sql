{{ config(alias='rule_alerts') }}
-- programmes.rule_alerts: the alerts of every programme's rule file (changes.alerts): an
-- indicator whose value was one thing in the previous list and is another now.
select * from {{ source('programme_rules', 'alerts') }}
