with source as (
    select * from {{ source('anct_centres', 'communes') }}
),

renamed as (
    select
        _vintage as vintage,
        programme,
        -- id_acv or id_pvd; the communes of a joint PVD application share one, the first list leaves some empty
        nullif(trim(coalesce(id_acv, id_pvd)), '') as programme_id,
        {{ normalise_commune_code('insee_com') }} as commune_code,
        lib_com as commune_name,
        nullif(trim(siren_epci), '') as epci_code,
        try_cast(pop as bigint) as population,
        -- DD-MM-YYYY (ACV lists), DD/MM/YYYY (PVD since 2026) or YYYY-MM-DD (PVD before)
        case
            when {{ regex_matches('trim(date_signature)', "'^[0-9]{2}[-/][0-9]{2}[-/][0-9]{4}$'") }}
                then try_cast(
                    substr(trim(date_signature), 7, 4) || '-' || substr(trim(date_signature), 4, 2)
                    || '-' || substr(trim(date_signature), 1, 2) as date
                )
            else try_cast(trim(date_signature) as date)
        end as signature_date,
        _snapshot_sha256 as snapshot_sha256
    from source
)

select * from renamed
