with source as (
    select * from {{ source('transport_gtfs', 'feeds') }}
),

renamed as (
    select
        _vintage as vintage,
        feed_id,
        agency_names,
        try_cast(start_date as date) as start_date,
        try_cast(end_date as date) as end_date,
        -- feed_info (declared by the producer) or service_days (first and last day a trip runs)
        validity_source,
        try_cast(reference_date as date) as reference_date,
        try_cast(trips_on_reference_date as integer) as trips_on_reference_date,
        departures_status,
        missing_files,
        -- the raw load records one snapshot per entity; this is the feed's own file
        file_sha256 as feed_snapshot_sha256,
        _snapshot_sha256 as snapshot_sha256
    from source
)

select * from renamed
