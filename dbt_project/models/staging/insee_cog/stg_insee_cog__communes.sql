with source as (
    select * from {{ source('insee_cog', 'communes') }}
),

renamed as (
    select
        _vintage as vintage,
        TYPECOM as commune_type,
        {{ normalise_commune_code('COM') }} as commune_code,
        REG as region_code,
        DEP as departement_code,
        LIBELLE as commune_name,
        -- COMD / COMA → their commune; ARM → Paris, Lyon or Marseille
        {{ normalise_commune_code('COMPARENT') }} as parent_commune_code,
        _snapshot_sha256 as snapshot_sha256
    from source
)

select * from renamed
