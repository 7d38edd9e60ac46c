with source as (
    select * from {{ source('anct_france_services', 'points') }}
),

renamed as (
    select
        _vintage as vintage,
        MATRICULE as point_id,
        lib_france_services as name,
        -- located in a commune later from its coordinates; the published code can be malformed (2B14)
        case
            when {{ regex_matches(normalise_commune_code('insee_com'), "'^([0-9]{2}|2[AB])[0-9]{3}$'") }}
                then {{ normalise_commune_code('insee_com') }}
        end as commune_code,
        insee_com as commune_code_published,
        lib_com as commune_name,
        code_postal as postal_code,
        ADRESSE as address,
        FORMAT_FS as format,
        categorie as category,
        -- the list's type_fs; the 2020 GeoJSON has none, its categorie says the same
        coalesce(
            TYPE_FS,
            case when categorie ilike 'antenne%' then 'Antenne' when categorie is not null then 'Principal' end
        ) as site_type,
        -- GeoJSON: ITINERANCE or the category; list: format_fs Itinérante or Bus_équivalent
        coalesce(
            ITINERANCE = 'Oui' or categorie ilike '%itinerant%' or FORMAT_FS in ('Itinérante', 'Bus_équivalent'),
            false
        ) as is_itinerant,
        Labellisation as labelling,
        try_cast(lon_wgs84 as double) as longitude,
        try_cast(lat_wgs84 as double) as latitude,
        _snapshot_sha256 as snapshot_sha256
    from source
)

select * from renamed
