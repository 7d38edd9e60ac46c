-- transit_stop_count and transit_departures_per_day: GTFS stops located in each commune and
-- the departures scheduled there on each feed's reference weekday. Every commune has a value
-- (0 without a stop) for the vintages whose feeds were loaded. The feed list says which
-- feeds' departures could be counted: a commune with a stop of a feed whose stop_times could
-- not be read has unknown departures, not 0 (a feed with no trip that day does count 0).
with located as (
    select
        l.vintage,
        l.commune_code,
        count(*)::double as stops,
        case
            when bool_or(f.departures_status = 'missing_files') then null
            else sum(coalesce(d.departures, 0))
        end::double as departures
    from {{ ref('int_transit_stops_located') }} as l
    left join {{ ref('stg_transport_gtfs__stop_departures') }} as d using (vintage, feed_id, stop_id)
    left join {{ ref('stg_transport_gtfs__feeds') }} as f using (vintage, feed_id)
    group by all
),

vintages as (
    select distinct vintage from {{ ref('stg_transport_gtfs__stops') }}
),

communes as (
    select commune_code from {{ ref('geo_commune') }} where zone in ('metro', 'drom')
),

filled as (
    select
        v.vintage,
        c.commune_code,
        coalesce(l.stops, 0) as stops,
        case when l.commune_code is null then 0 else l.departures end as departures
    from vintages as v
    cross join communes as c
    left join located as l using (vintage, commune_code)
)

select
    'transit_stop_count' as indicator_id,
    vintage,
    null::varchar as base_vintage,
    null::varchar as category,
    commune_code,
    stops as numerator,
    null::double as denominator,
    null::boolean as flag,
    false as has_split,
    'transport_gtfs ' || vintage || ', commune_locations' as source_vintages
from filled

union all

select 'transit_departures_per_day', vintage, null, null, commune_code, departures, null, null, false,
       'transport_gtfs ' || vintage || ', commune_locations'
from filled
