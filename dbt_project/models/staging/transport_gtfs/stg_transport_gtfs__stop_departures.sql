with source as (
    select * from {{ source('transport_gtfs', 'stop_departures') }}
),

renamed as (
    select
        _vintage as vintage,
        feed_id,
        stop_id,
        try_cast(departures as integer) as departures,
        try_cast(reference_date as date) as reference_date,
        _snapshot_sha256 as snapshot_sha256
    from source
)

select * from renamed
