-- Straight-line distance from each commune's reference point to the nearest facility of
-- each kind and vintage, in the same zone (the nearest_points macro: facilities bucketed
-- in square cells, each commune looking in the 3 × 3 cells around its own, larger cells
-- for what is not found), and which facility it is when the facility has an id.
with communes as (
    select commune_code as origin_id, zone, x, y from {{ ref('int_commune_reference_points') }}
),

facilities as (
    select facility_id as target_id, kind, vintage, zone, x, y from {{ ref('int_facility_points') }}
),

nearest as (
    {{ nearest_points('communes', 'facilities', partition_by=['kind', 'vintage']) }}
)

select
    origin_id as commune_code,
    kind,
    vintage,
    target_id as facility_id,
    distance_m / 1000.0 as distance_km,
    search_pass
from nearest
