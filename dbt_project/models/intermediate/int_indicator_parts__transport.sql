-- transit_stop_count and transit_departures_per_day: GTFS stops located in each commune and
-- the departures scheduled there on each feed's reference weekday. Every commune has a value
-- (0 without a stop) for the vintages whose feeds were loaded.
with located as (
    select l.vintage, l.commune_code, count(*)::double as stops, sum(coalesce(d.departures, 0))::double as departures
    from {{ ref('int_transit_stops_located') }} as l
    left join {{ ref('stg_transport_gtfs__stop_departures') }} as d using (vintage, feed_id, stop_id)
    group by all
),

vintages as (
    select distinct vintage from {{ ref('stg_transport_gtfs__stops') }}
),

communes as (
    select commune_code from {{ ref('geo_commune') }} where zone in ('metro', 'drom')
),

filled as (
    select v.vintage, c.commune_code, coalesce(l.stops, 0) as stops, coalesce(l.departures, 0) as departures
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
