-- The indicators of the quartiers prioritaires programmes rank (unit qpv of
-- unit_indicator_definitions): INSEE's statistics of the quartier, as published, and the
-- distance from the quartier (its commune's reference point) to the nearest hospital and to
-- the nearest EHPAD or résidence autonomie (FINESS, latest extraction) — the places that
-- train and hire nursing assistants and social workers.
with units as (
    select * from {{ ref('int_qpv_units') }}
),

statistics as (
    select s.*
    from {{ ref('stg_anct_qpv__statistics') }} as s
    join (select distinct vintage from units) using (vintage)
),

origins as (
    select qpv_code as origin_id, zone, x, y from units where x is not null
),

employers as (
    select facility_id as target_id, kind, vintage, zone, x, y
    from {{ ref('int_facility_points') }}
    where kind in ('hospital', 'senior_residence')
      and vintage = (select max(vintage) from {{ ref('int_facility_points') }} where kind = 'hospital')
),

nearest as (
    {{ nearest_points('origins', 'employers', partition_by=['kind', 'vintage']) }}
),

distances as (
    select
        origin_id as code,
        any_value(vintage) as vintage,
        min(distance_m) filter (where kind = 'hospital') / 1000.0 as dist_hospital_km,
        min(distance_m) filter (where kind = 'senior_residence') / 1000.0 as dist_senior_residence_km,
        min(distance_m) / 1000.0 as dist_care_employer_km
    from nearest
    group by origin_id
)

select s.qpv_code as code, t.indicator_id, t.value, s.vintage, 'anct_qpv ' || s.vintage as source_vintages
from statistics as s
cross join lateral (
    select * from (values
        ('population', s.population::double),
        ('youth_index', s.youth_index),
        ('employment_rate', s.employment_rate),
        ('job_seekers', s.job_seekers::double),
        ('poverty_rate', s.poverty_rate),
        ('schools', (coalesce(s.primary_schools, 0) + coalesce(s.lower_secondary_schools, 0))::double)
    ) as v (indicator_id, value)
) as t

union all

select d.code, t.indicator_id, t.value, d.vintage, 'finess ' || d.vintage || ', commune_locations' as source_vintages
from distances as d
cross join lateral (
    select * from (values
        ('dist_hospital_km', d.dist_hospital_km),
        ('dist_senior_residence_km', d.dist_senior_residence_km),
        ('dist_care_employer_km', d.dist_care_employer_km)
    ) as v (indicator_id, value)
) as t
