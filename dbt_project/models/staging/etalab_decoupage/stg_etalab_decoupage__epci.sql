with source as (
    select * from {{ source('etalab_decoupage', 'epci') }}
),

renamed as (
    select
        _vintage as vintage,
        code as epci_code,
        nom as epci_name,
        type as epci_type,
        modeFinancement as financing_mode,
        try_cast(populationMunicipale as bigint) as population,
        _snapshot_sha256 as snapshot_sha256
    from source
)

select * from renamed
