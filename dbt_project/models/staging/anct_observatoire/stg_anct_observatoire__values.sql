with source as (
    select * from {{ source('anct_observatoire', 'values') }}
),

parsed as (
    select
        *,
        -- decimal comma and thousands spaces tolerated; anything else (N/A - …) is no number
        try_cast(replace(replace(replace(trim(VALEUR), ' ', ''), chr(160), ''), ',', '.') as double) as parsed_value
    from source
),

renamed as (
    select
        _vintage as vintage,
        DATASET as dataset,
        INDIC as indicator,
        NIVGEO as geography_level,
        -- the warehouse's level of the row: commune (NIVGEO com<year>) or the level an export
        -- of another portal says it is at (bassin_vie, zone_emploi…)
        case when NIVGEO like 'com%' then 'commune' else NIVGEO end as level,
        case when NIVGEO like 'com%' then {{ normalise_commune_code('codgeo') }} else trim(codgeo) end as code,
        case when NIVGEO like 'com%' then {{ normalise_commune_code('codgeo') }} end as commune_code,
        libgeo as commune_name,
        try_cast(an as integer) as year,
        DIMENSIONS as dimensions,
        VALEUR as value_text,
        -- -9999 (and "N/A - secret statistique" on other Geoclip portals): no value is published
        coalesce(parsed_value = -9999 or lower(trim(VALEUR)) like 'n/a - secret%', false) as is_secret,
        case when parsed_value <> -9999 then parsed_value end as value,
        FILE_NAME as source_file,
        -- each pair is its own file: its hash, not the vintage's first file's
        coalesce(FILE_SHA256, _snapshot_sha256) as snapshot_sha256
    from parsed
)

select * from renamed
