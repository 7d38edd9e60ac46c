-- The quartiers prioritaires a programme ranks: those of the latest QPV generation
-- (vintage 2015: codes QP…, 2024: QN…) that has INSEE statistics, with their name, their
-- population and where they are: the commune of the target geography that holds them (the
-- first by code for a quartier spanning several), and that commune's reference point.
with generation as (
    select max(vintage) as vintage from {{ ref('stg_anct_qpv__statistics') }}
),

statistics as (
    select s.* from {{ ref('stg_anct_qpv__statistics') }} as s join generation using (vintage)
),

holding_commune as (
    select vintage, qpv_code, min(commune_code) as commune_code
    from {{ ref('int_qpv_communes') }}
    group by all
)

select
    s.vintage,
    s.qpv_code,
    coalesce(q.qpv_name, s.qpv_code) as qpv_name,
    coalesce(s.population, q.population) as population,
    h.commune_code,
    r.zone,
    r.x,
    r.y
from statistics as s
left join {{ ref('stg_anct_qpv__quartiers') }} as q using (vintage, qpv_code)
left join holding_commune as h using (vintage, qpv_code)
left join {{ ref('int_commune_reference_points') }} as r using (commune_code)
