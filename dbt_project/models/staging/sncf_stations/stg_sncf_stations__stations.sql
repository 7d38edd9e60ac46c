with source as (
    select * from {{ source('sncf_stations', 'stations') }}
),

renamed as (
    select
        _vintage as vintage,
        CODE_UIC as uic_code,
        LIBELLE as station_name,
        -- names, not codes: matched to INSEE commune codes in the intermediate models
        COMMUNE as commune_name,
        DEPARTEMEN as departement_name,
        VOYAGEURS = 'O' as is_passenger,
        FRET = 'O' as is_freight,
        CODE_LIGNE as line_code,
        try_cast(RG_TRONCON as integer) as line_section_rank,
        PK as kilometre_point,
        try_cast(X_WGS84 as double) as longitude,
        try_cast(Y_WGS84 as double) as latitude,
        try_cast(X_L93 as double) as x_l93,
        try_cast(Y_L93 as double) as y_l93,
        _snapshot_sha256 as snapshot_sha256
    from source
)

select * from renamed
