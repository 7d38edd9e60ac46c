with source as (
    select * from {{ source('anct_qpv', 'communes') }}
),

renamed as (
    select
        _vintage as vintage,
        code_qp as qpv_code,
        {{ normalise_commune_code('insee_com') }} as commune_code,
        _snapshot_sha256 as snapshot_sha256
    from source
)

select * from renamed
