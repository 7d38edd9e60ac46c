with source as (
    select * from {{ source('etalab_decoupage', 'epci_members') }}
),

renamed as (
    select
        _vintage as vintage,
        epci_code,
        {{ normalise_commune_code('code') }} as commune_code,
        _snapshot_sha256 as snapshot_sha256
    from source
)

select * from renamed
