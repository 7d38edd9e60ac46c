-- The zones of each commune of a COG vintage, one row per commune and vintage. A zoning the
-- vintage's files do not give is null (the AAV 2020 workbook gives only the aire).
with source as (
    select * from {{ source('insee_appartenance', 'communes') }}
)

select
    _vintage as vintage,
    {{ normalise_commune_code('CODGEO') }} as commune_code,
    LIBGEO as commune_name,
    DEP as departement_code,
    REG as region_code,
    nullif(trim(ARR), '') as arrondissement_code,
    nullif(trim(CV), '') as canton_code,
    nullif(trim(ZE2020), '') as zone_emploi_code,
    nullif(trim(UU2020), '') as unite_urbaine_code,
    nullif(trim(AAV2020), '') as aire_attraction_code,
    case trim(CATEAAV2020)
        when '11' then 'pole_principal'
        when '12' then 'pole_secondaire'
        when '13' then 'pole_autre'
        when '20' then 'couronne'
        when '30' then 'hors_attraction'
    end as aire_attraction_category,
    nullif(trim(BV2022), '') as bassin_vie_code,
    _snapshot_sha256 as snapshot_sha256
from source
