with source as (
    select * from {{ source('transport_gtfs', 'stops') }}
),

renamed as (
    select
        _vintage as vintage,
        feed_id,
        stop_id,
        stop_name,
        try_cast(stop_lat as double) as latitude,
        try_cast(stop_lon as double) as longitude,
        -- GTFS: empty means 0 (a stop or platform); 1 is a station grouping platforms
        coalesce(try_cast(location_type as integer), 0) as location_type,
        nullif(trim(parent_station), '') as parent_station,
        _snapshot_sha256 as snapshot_sha256
    from source
)

select * from renamed
