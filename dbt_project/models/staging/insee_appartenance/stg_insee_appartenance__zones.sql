-- The label of every zone INSEE lists, per COG vintage and level (NIVGEO mapped to the
-- warehouse's level ids; other levels of the sheet, such as EPCI or DEP, are left out).
with source as (
    select * from {{ source('insee_appartenance', 'zones') }}
)

select
    _vintage as vintage,
    case upper(trim(NIVGEO))
        when 'ARR' then 'arrondissement'
        when 'CV' then 'canton'
        when 'ZE2020' then 'zone_emploi'
        when 'UU2020' then 'unite_urbaine'
        when 'AAV2020' then 'aire_attraction'
        when 'BV2022' then 'bassin_vie'
    end as level,
    trim(CODGEO) as code,
    trim(LIBGEO) as label,
    _snapshot_sha256 as snapshot_sha256
from source
where upper(trim(NIVGEO)) in ('ARR', 'CV', 'ZE2020', 'UU2020', 'AAV2020', 'BV2022')
