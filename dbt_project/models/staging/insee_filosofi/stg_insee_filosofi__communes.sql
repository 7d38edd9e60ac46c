with source as (
    select * from {{ source('insee_filosofi', 'communes') }}
),

renamed as (
    select
        _vintage as vintage,
        {{ normalise_commune_code('CODGEO') }} as commune_code,
        LIBGEO as commune_name,
        try_cast(NBMENFISC as bigint) as households,
        try_cast(NBPERSMENFISC as double) as persons,
        try_cast(TP60 as double) as poverty_rate,
        try_cast(MED as double) as median_living_standard,
        -- INSEE published no median (statistical secret, or not available): nothing is known of the commune
        MED is null as is_secret,
        _snapshot_sha256 as snapshot_sha256
    from source
)

select * from renamed
