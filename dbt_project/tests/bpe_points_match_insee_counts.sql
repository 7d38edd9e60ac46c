-- The BPE detail file (one row per equipment) and INSEE's counts per commune (DS_BPE) are
-- two views of the same base: per vintage, commune and type they must give the same number.
-- Rows returned are the communes and types where they differ (a file cut short, a type
-- recoded in one file only, Paris/Lyon/Marseille counted twice).
{{ config(severity='warn', tags=['cross_source']) }}

with points as (
    select
        vintage,
        {{ plm_city_code('commune_code') }} as commune_code,
        typequ,
        count(*) as points
    from {{ ref('stg_insee_bpe__equipments') }}
    where vintage in (select distinct vintage from {{ ref('int_bpe_commune_counts') }})
    group by all
),

counts as (
    select
        vintage,
        {{ plm_city_code('commune_code') }} as commune_code,
        typequ,
        sum(equipment_count) as counted
    from {{ ref('int_bpe_commune_counts') }}
    group by all
)

select
    coalesce(p.vintage, c.vintage) as vintage,
    coalesce(p.commune_code, c.commune_code) as commune_code,
    coalesce(p.typequ, c.typequ) as typequ,
    coalesce(p.points, 0) as points,
    coalesce(c.counted, 0) as counted
from points as p
full join counts as c using (vintage, commune_code, typequ)
where coalesce(p.points, 0) <> coalesce(c.counted, 0)
