with source as (
    select * from {{ source('commune_locations', 'communes') }}
),

renamed as (
    select
        _vintage as vintage,
        {{ normalise_commune_code('code') }} as commune_code,
        coalesce(type, 'COM') as commune_type,
        try_cast(longitude_mairie as double) as town_hall_longitude,
        try_cast(latitude_mairie as double) as town_hall_latitude,
        try_cast(longitude_centre as double) as centre_longitude,
        try_cast(latitude_centre as double) as centre_latitude,
        contour_wkb_hex,
        _snapshot_sha256 as snapshot_sha256
    from source
)

select * from renamed
