with source as (
    select * from {{ source('etalab_contours', 'communes') }}
),

renamed as (
    select
        _vintage as vintage,
        {{ normalise_commune_code('code') }} as commune_code,
        nom as commune_name,
        {{ geo_from_hex_wkb('contour_wkb_hex') }} as contour,
        _snapshot_sha256 as snapshot_sha256
    from source
)

select * from renamed
