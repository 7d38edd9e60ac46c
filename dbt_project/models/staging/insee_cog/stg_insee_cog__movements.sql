with source as (
    select * from {{ source('insee_cog', 'movements') }}
),

renamed as (
    select
        _vintage as vintage,
        try_cast(MOD as integer) as movement_code,
        try_cast(DATE_EFF as date) as effective_date,
        TYPECOM_AV as type_before,
        {{ normalise_commune_code('COM_AV') }} as code_before,
        LIBELLE_AV as name_before,
        TYPECOM_AP as type_after,
        {{ normalise_commune_code('COM_AP') }} as code_after,
        LIBELLE_AP as name_after,
        _snapshot_sha256 as snapshot_sha256
    from source
)

select * from renamed
