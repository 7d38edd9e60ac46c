with source as (
    select * from {{ source('etalab_decoupage', 'regions') }}
),

renamed as (
    select
        _vintage as vintage,
        code as region_code,
        nom as region_name,
        zone,
        {{ normalise_commune_code('chefLieu') }} as chef_lieu_code,
        _snapshot_sha256 as snapshot_sha256
    from source
)

select * from renamed
