with source as (
    select * from {{ source('etalab_decoupage', 'departements') }}
),

renamed as (
    select
        _vintage as vintage,
        code as departement_code,
        nom as departement_name,
        region as region_code,
        zone,
        {{ normalise_commune_code('chefLieu') }} as chef_lieu_code,
        _snapshot_sha256 as snapshot_sha256
    from source
)

select * from renamed
