{{ config(alias='targets_previous') }}
-- programmes.targets_previous: every programme's list in the last published warehouse.
select * from {{ source('programme_published', 'targets') }}
