-- Every BPE equipment point whose type counts as one of the equipments the indicators use
-- (gp, pharmacy, post_office…), through the dated mapping of the seed: a TYPEQU stands
-- for an equipment only in the vintages the seed gives it (GP: D201 up to 2022, D265 from
-- 2023). Types the seed does not map are left out.
with equipments as (
    select * from {{ ref('stg_insee_bpe__equipments') }}
),

equipment_types as (
    select * from {{ ref('bpe_equipment_types') }}
)

select
    e.vintage,
    e.commune_code,
    t.equipment,
    e.typequ,
    e.x,
    e.y,
    e.epsg,
    e.longitude,
    e.latitude,
    e.quality,
    e.snapshot_sha256
from equipments as e
join equipment_types as t
    on t.typequ = e.typequ
    and (t.first_vintage is null or cast(e.vintage as integer) >= t.first_vintage)
    and (t.last_vintage is null or cast(e.vintage as integer) <= t.last_vintage)
