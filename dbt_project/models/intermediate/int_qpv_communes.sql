-- Quartiers prioritaires and the communes of the target geography they touch, with the
-- quartier's population and how many communes it spans.
with links as (
    select distinct l.vintage, l.qpv_code, p.commune_code
    from {{ ref('stg_anct_qpv__communes') }} as l
    join {{ ref('geo_commune_passage') }} as p on p.old_code = l.commune_code
),

spans as (
    select vintage, qpv_code, count(*) as commune_span
    from links
    group by all
)

select l.vintage, l.qpv_code, l.commune_code, q.population, s.commune_span
from links as l
join spans as s using (vintage, qpv_code)
left join {{ ref('stg_anct_qpv__quartiers') }} as q using (vintage, qpv_code)
