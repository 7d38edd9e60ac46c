"""National sample of transport_gtfs: the three feeds of week 2026-W48 at national size.

The feeds, members, columns, agencies, calendars and validity of the bundled sample
(:mod:`pipelines.sample.transport_gtfs`: comma-separated UTF-8, CRLF line ends), with
networks drawn on the geography 2026 of the national territory; scale × 5 million
stop_times in all:

* `tcl-sytral.zip`, the urban networks of every commune of 40,000 inhabitants or more:
  bus lines from the town hall outwards (one per 15,000 inhabitants, 2 to 120 per city,
  2 to 14 km long, a stop every 400 m, 2 minutes apart), running 60 to 110 times each way
  on weekdays, 60 % of that on Saturdays, 30 % on Sundays; in cities of 300,000 or more,
  metro lines across the city (stations with two platforms), run by frequencies.txt every
  3 minutes on weekdays (5 on Saturdays, 7 on Sundays).
* `mobigo-saone-et-loire.zip`, coach lines linking 60 % of the rural communes of every
  département (density levels 5 to 7) to its chef-lieu's bus station, about ten villages
  a line from the farthest in, a stop at each town hall: four runs each way on school
  days, two on Wednesdays, one on Saturdays.
* `sncf-ter.zip`, regional trains at the passenger stations of the territory's `stations`
  view (stop ids StopArea:OCE<UIC> and StopPoint:OCETrain TER-<UIC>, as SNCF's export and
  the sncf_stations sample): lines of about eight stations ending at each département's
  busiest one, 14 runs each way on weekdays, 8 on Saturdays, 6 on Sundays.

At scale 1 that is about 4.7 million stop times in the urban feed (15,000 stops),
260,000 in the coach feed (17,000 stops) and 180,000 in the TER feed (2,900 stations).

Every feed runs on the reference Tuesday (2026-11-24). The runs of every line shrink
together so that the total follows the scale (a smaller territory keeps its large towns,
each département its chef-lieu). DuckDB builds the stops, trips and stop times and writes
the large files straight to disk; the small ones are the sample's own rows.
"""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

import duckdb

from pipelines.sample.national.common import bounded_memory, vintage_dir, zip_members
from pipelines.sample.national.territory import NationalTerritory
from pipelines.sample.territory import build_territory
from pipelines.sample.transport_gtfs import GEOGRAPHY, SOURCE, VINTAGE, ZIP_DATE, sample_feeds

STOP_TIMES = 5_100_000  # at scale 1, all feeds together
CITY, COACH, TER = "tcl-sytral", "mobigo-saone-et-loire", "sncf-ter"
CITY_POPULATION = 40_000  # an urban network from this population on
METRO_POPULATION = 300_000
CSV_OPTIONS = "format csv, header, delimiter ',', new_line '\r\n'"  # as the sample writes them: CRLF line ends
# Members copied from the sample as they are: agency, calendars, validity.
SAMPLE_MEMBERS = ("agency.txt", "calendar.txt", "calendar_dates.txt", "feed_info.txt")

# service_id: (first departure, last departure, runs each way: a share of the line's for buses, a count otherwise)
BUS_SERVICES = {"SEM": ("05:30", "22:00", 1.0), "SAM": ("06:00", "22:00", 0.6), "DIM": ("07:30", "21:00", 0.3)}
COACH_SERVICES = {"SCOL": ("06:30", "18:30", 4), "MER": ("07:00", "13:00", 2), "SAMM": ("08:00", "12:00", 1)}
TER_SERVICES = {"SEM": ("05:45", "21:45", 14), "SAM": ("06:30", "21:30", 8), "DIM": ("08:00", "21:00", 6)}
# service_id: (start, end, headway in seconds) of the metro's frequencies.txt
METRO_SERVICES = {"SEM": ("05:00", "24:00", 180), "SAM": ("05:00", "24:00", 300), "DIM": ("06:00", "24:00", 420)}
STOP_NAMES = (
    "Gare", "Mairie", "Église", "Collège", "Marché", "Stade", "Hôpital", "Lycée", "Centre commercial",
    "Piscine", "Cimetière", "Poste", "République", "Les Tilleuls", "Les Prés", "Le Moulin", "Zone artisanale",
    "Pont", "Château d'eau", "Parc", "Les Érables", "Clos du Verger", "Champ de Foire", "Résidence du Lac",
)  # fmt: skip


def write(territory: NationalTerritory, con: duckdb.DuckDBPyConnection, dest: Path) -> list[str]:
    """Write the week's three feeds as <feed id>.zip; returns the vintage written."""
    folder = vintage_dir(dest, SOURCE, VINTAGE)
    sample = sample_feeds(build_territory())
    agencies = {feed: tables["agency.txt"][1][0][0] for feed, tables in sample.items()}
    with bounded_memory(con), tempfile.TemporaryDirectory(prefix=".gtfs-", dir=folder) as work:
        con.execute(points_query(agencies), {"stop_names": list(STOP_NAMES)})
        con.execute(STOPS_QUERY)
        con.execute(services_query(territory.scale))
        con.execute(TRIPS_QUERY)
        for feed, tables in sample.items():
            members: dict[str, Path | bytes] = {}
            for name, (header, rows) in tables.items():
                if name in SAMPLE_MEMBERS:
                    members[name] = csv_bytes(header, rows)
                else:
                    members[name] = Path(work) / f"{feed}-{name}"
                    con.execute(f"copy ({member_query(feed, name, header)}) to '{members[name]}' ({CSV_OPTIONS})")
            zip_members(folder / f"{feed}.zip", members, date=ZIP_DATE)
        con.execute("drop table gtfs_points; drop table gtfs_stops; drop table gtfs_services; drop table gtfs_trips")
    return [VINTAGE]


def csv_bytes(header: list[str], rows: list[list]) -> bytes:
    """A small GTFS file as the sample writes it."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return text.getvalue().encode("utf-8")


# --------------------------------------------------------------------------------- networks


def points_query(agencies: dict[str, str]) -> str:
    """gtfs_points: every line's stops in order (direction 0), minutes from its first stop.

    A row is one stop of one route: feed, network (bus, metro, coach, ter), route (id, agency,
    short name, type, colour), sequence,
    stop_id (back_stop_id: the platform of the other direction, for the metro), its name,
    place, location_type and parent_station, and `minute`.
    """
    lines = " union all by name ".join(
        f"select '{feed}' as feed, '{agencies[feed]}' as agency_id, '{network}' as network, * from {network}"
        for feed, network in ((CITY, "bus"), (CITY, "metro"), (COACH, "coach"), (TER, "ter"))
    )
    return f"""
        create or replace temp table gtfs_points as
        with cities as (
            select
                code, libelle, population, lon, lat,
                cast(least(120, greatest(2, round(population / 15000))) as integer) as bus_lines,
                least(14, 2.5 * sqrt(population / 50000)) as reach_km,
                cast(if(population >= {METRO_POPULATION}, least(8, ceil(population / {METRO_POPULATION})), 0)
                     as integer) as metro_lines
            from actuelles
            where vintage = '{GEOGRAPHY}' and population >= {CITY_POPULATION}
        ),
        {_bus_lines()},
        {_metro_lines()},
        {_radial("coach", _coach_places(), route_type=3, per_line=10, speed_kmh=42, min_minutes=3)},
        {_radial("ter", _ter_places(), route_type=2, per_line=8, speed_kmh=85, min_minutes=4)}
        {lines}
        order by feed, route_id, sequence
    """


def _offset(lon: str, lat: str, km: str, angle: str) -> tuple[str, str]:
    """SQL of the point `km` kilometres from (lon, lat) towards `angle` (radians from north)."""
    return (
        f"{lon} + {km} * sin({angle}) / (111.32 * cos(radians({lat})))",
        f"{lat} + {km} * cos({angle}) / 110.57",
    )


def _bus_lines() -> str:
    """Bus lines from each city's town hall outwards, a stop every 400 m, 2 minutes apart."""
    lon, lat = _offset("lon", "lat", "length_km * k / stops", "angle")
    return f"""
        bus_lines as (
            select
                *,
                2 * pi() * (line - 1 + 0.5 * rnd(code, 'bus-angle:' || line)) / bus_lines as angle,
                reach_km * (0.6 + 0.4 * rnd(code, 'bus-length:' || line)) as length_km
            from (select *, unnest(range(1, bus_lines + 1)) as line from cities)
        ),
        bus_stops as (
            select *, code || ':' || line || ':' || k as stop
            from (
                select *, unnest(range(0, stops + 1)) as k
                from (select *, cast(greatest(8, round(length_km / 0.4)) as integer) as stops from bus_lines)
            )
        ),
        bus as (
            select
                code || '-B' || lpad(cast(line as varchar), 3, '0') as route_id,
                cast(line as varchar) as route_short_name,
                3 as route_type, '0066B3' as route_color, population,
                k + 1 as sequence,
                if(k = 0, code || '-HDV', code || '-' || lpad(cast(line as varchar), 3, '0') || '-'
                                          || lpad(cast(k as varchar), 2, '0')) as stop_id,
                null as back_stop_id, null as parent_station, '0' as location_type,
                libelle || ' ' || if(k = 0, 'Hôtel de Ville',
                                     $stop_names[1 + rnd_int(stop, 'bus-name', len($stop_names))]) as stop_name,
                {lon} + if(k = 0, 0, (rnd(stop, 'bus-x') - 0.5) * 0.001) as lon,
                {lat} + if(k = 0, 0, (rnd(stop, 'bus-y') - 0.5) * 0.0007) as lat,
                2 * k as minute
            from bus_stops
        )"""


def _metro_lines() -> str:
    """Metro lines across the large cities: 12 to 18 stations, each with a platform per direction."""
    lon, lat = _offset("lon", "lat", "reach_km * 0.6 * (2.0 * k / (stations - 1) - 1)", "angle")
    return f"""
        metro_lines as (
            select
                *,
                pi() * (line - 1 + 0.3 * rnd(code, 'metro-angle:' || line)) / metro_lines as angle,
                12 + rnd_int(code, 'metro-stations:' || line, 7) as stations
            from (select *, unnest(range(1, metro_lines + 1)) as line from cities where metro_lines > 0)
        ),
        metro as (
            select
                code || '-M' || line as route_id, chr(cast(64 + line as integer)) as route_short_name,
                1 as route_type, 'E2001A' as route_color, population,
                k + 1 as sequence,
                code || '-M' || line || '-S' || lpad(cast(k as varchar), 2, '0') || '-1' as stop_id,
                code || '-M' || line || '-S' || lpad(cast(k as varchar), 2, '0') || '-2' as back_stop_id,
                code || '-M' || line || '-S' || lpad(cast(k as varchar), 2, '0') as parent_station,
                '0' as location_type,
                libelle || ' '
                    || $stop_names[1 + rnd_int(code || ':' || line || ':' || k, 'metro-name', len($stop_names))]
                    as stop_name,
                {lon} as lon, {lat} as lat,
                2 * k as minute
            from (select *, unnest(range(stations)) as k from metro_lines)
        )"""


def _coach_places() -> str:
    """Each département's chef-lieu (the hub) and 60 % of its rural communes."""
    return f"""
        select
            c.departement as area, c.code = d.chef_lieu as hub,
            'MOB' || c.code as stop_id, null as parent_station, null as location_type,
            c.libelle || if(c.code = d.chef_lieu, ' Gare routière', ' Mairie') as stop_name,
            c.lon + (rnd(c.code, 'coach-x') - 0.5) * 0.002 as lon,
            c.lat + (rnd(c.code, 'coach-y') - 0.5) * 0.0014 as lat
        from actuelles as c join departements as d on d.code = c.departement
        where c.vintage = '{GEOGRAPHY}'
          and (c.code = d.chef_lieu or (c.density_level >= 5 and rnd(c.code, 'coach') < 0.6))
    """


def _ter_places() -> str:
    """The passenger stations, the busiest of each département as its hub."""
    return """
        select
            departement as area,
            row_number() over (partition by departement order by population desc, uic) = 1 as hub,
            'StopPoint:OCETrain TER-' || uic as stop_id, 'StopArea:OCE' || uic as parent_station,
            '0' as location_type, 'Gare de ' || commune_name as stop_name, lon, lat
        from stations
    """


def _radial(name: str, places: str, *, route_type: int, per_line: int, speed_kmh: int, min_minutes: int) -> str:
    """Lines from the outer places of an area to its hub: the places around each hub split into
    angular sectors of about `per_line` places, each sector a line from the farthest to the hub."""
    dx = "(p.lon - h.hub_lon) * 111.32 * cos(radians(h.hub_lat))"
    dy = "(p.lat - h.hub_lat) * 110.57"
    hop = "sqrt(pow((lon - previous_lon) * 111.32 * cos(radians(lat)), 2) + pow((lat - previous_lat) * 110.57, 2))"
    return f"""
        {name}_places as ({places}),
        {name}_hubs as (
            select area, stop_id as hub_id, stop_name as hub_name, lon as hub_lon, lat as hub_lat
            from {name}_places where hub
        ),
        {name}_sectors as (
            select
                p.*, h.hub_id, h.hub_name, h.hub_lon, h.hub_lat, sqrt(pow({dx}, 2) + pow({dy}, 2)) as km,
                cast(floor((atan2({dy}, {dx}) + pi()) / (2 * pi())
                           * greatest(1, round(count(*) over (partition by p.area) / {per_line})))
                     as integer) as sector
            from {name}_places as p join {name}_hubs as h using (area)
            where not p.hub
        ),
        {name}_ordered as (
            select
                area, sector, stop_id, parent_station, location_type, stop_name, lon, lat,
                row_number() over (partition by area, sector order by km desc, stop_id) as sequence
            from {name}_sectors
            union all  -- the hub ends every line
            select distinct
                s.area, s.sector, s.hub_id, h.parent_station, h.location_type, s.hub_name, s.hub_lon, s.hub_lat,
                1000000
            from {name}_sectors as s join {name}_places as h on h.stop_id = s.hub_id
        ),
        {name}_hops as (
            select
                *,
                lag(lon) over line as previous_lon, lag(lat) over line as previous_lat,
                row_number() over line as position
            from {name}_ordered
            window line as (partition by area, sector order by sequence)
        ),
        {name} as (
            select
                '{name.upper()}' || area || '-' || lpad(cast(sector + 1 as varchar), 2, '0') as route_id,
                area || lpad(cast(sector + 1 as varchar), 2, '0') as route_short_name,
                {route_type} as route_type, null as route_color, null as population,
                position as sequence, stop_id, null as back_stop_id, parent_station, location_type, stop_name,
                lon, lat,
                cast(sum(if(previous_lon is null, 0, greatest({min_minutes}, round({hop} * 60 / {speed_kmh}))))
                     over (partition by area, sector order by position) as integer) as minute
            from {name}_hops
        )"""


# Every stop once: the points, the other direction's platforms, and the stations grouping them.
STOPS_QUERY = """
    create or replace temp table gtfs_stops as
    select distinct feed, stop_id, stop_name, lon, lat, location_type, parent_station
    from (
        select feed, stop_id, stop_name, lon, lat, location_type, parent_station from gtfs_points
        union all
        select feed, back_stop_id, stop_name, lon, lat, location_type, parent_station
        from gtfs_points where back_stop_id is not null
        union all
        select feed, parent_station, stop_name, lon, lat, '1', null
        from gtfs_points where parent_station is not null
    )
"""


def services_query(scale: float) -> str:
    """gtfs_services: per route and service, its first and last departures and runs each way.

    The runs of the scheduled lines shrink or grow together so that all feeds hold about
    scale × STOP_TIMES stop times; the metro's single trips run by frequencies.
    """

    def values(services: dict, network: str) -> str:
        return ", ".join(
            f"('{network}', '{service}', {_minutes(first)}, {_minutes(last)}, {runs})"
            for service, (first, last, runs) in services.items()
        )

    metro = ", ".join(
        f"('{service}', {_minutes(start)}, {_minutes(end)}, {headway})"
        for service, (start, end, headway) in METRO_SERVICES.items()
    )
    return f"""
        create or replace temp table gtfs_services as
        with services(network, service_id, first_minute, last_minute, runs) as (
            values {values(BUS_SERVICES, "bus")}, {values(COACH_SERVICES, "coach")}, {values(TER_SERVICES, "ter")}
        ),
        metro_services(service_id, first_minute, last_minute, headway_secs) as (values {metro}),
        routes as (
            select feed, network, route_id, any_value(population) as population, count(*) as stops
            from gtfs_points group by all
        ),
        scheduled as (
            select
                r.feed, r.route_id, r.stops, s.service_id, s.first_minute, s.last_minute,
                -- buses: 60 to 110 runs each way on weekdays, depending on the city's size
                s.runs * if(r.network = 'bus',
                            case when r.population >= 200000 then 110 when r.population >= 100000 then 80 else 60 end,
                            1) as base_runs
            from routes as r join services as s using (network)
        ),
        frequent as (
            select r.feed, r.route_id, r.stops, m.*
            from routes as r cross join metro_services as m
            where r.network = 'metro'
        ),
        factor as (
            select ({scale} * {STOP_TIMES} - coalesce((select 2 * sum(stops) from frequent), 0))
                   / (select 2 * sum(stops * base_runs) from scheduled) as k
        )
        select
            feed, route_id, service_id, first_minute, last_minute,
            cast(greatest(1, round(base_runs * k)) as integer) as runs, null as headway_secs
        from scheduled, factor
        union all
        select feed, route_id, service_id, first_minute, last_minute, 1, headway_secs from frequent
    """


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


# Every trip: each route's runs of each service in both directions, spread over the service's hours.
TRIPS_QUERY = """
    create or replace temp table gtfs_trips as
    with ends as (
        select feed, route_id, max(sequence) as last, max(minute) as duration,
               arg_min(stop_name, sequence) as first_stop, arg_max(stop_name, sequence) as last_stop
        from gtfs_points group by all
    )
    select
        s.feed, s.route_id, s.service_id, d.direction,
        s.route_id || '-' || s.service_id || '-' || d.direction || '-' || lpad(cast(run as varchar), 3, '0') as trip_id,
        s.first_minute + cast(floor(run * (s.last_minute - s.first_minute) / s.runs) as integer) as start_minute,
        s.last_minute, s.headway_secs, e.last, e.duration,
        if(d.direction = 0, e.last_stop, e.first_stop) as headsign
    from (select *, unnest(range(runs)) as run from gtfs_services) as s
    cross join (values (0), (1)) as d(direction)
    join ends as e using (feed, route_id)
"""


# --------------------------------------------------------------------------------- members


def _clock(minutes: str) -> str:
    return f"printf('%02d:%02d:00', {minutes} // 60, {minutes} % 60)"


def _coordinate(value: str) -> str:
    return f"cast(cast(round({value}, 6) as decimal(10, 6)) as varchar)"


# SQL of every column the feeds' members may have, by member (missing ones are left empty).
MEMBER_COLUMNS = {
    "stops.txt": {
        "stop_id": "stop_id", "stop_name": "stop_name", "stop_lat": _coordinate("lat"),
        "stop_lon": _coordinate("lon"), "location_type": "location_type", "parent_station": "parent_station",
        "wheelchair_boarding": "if(location_type = '1', '0', '1')",
    },
    "routes.txt": {
        "route_id": "route_id", "agency_id": "agency_id", "route_short_name": "route_short_name",
        "route_long_name": "route_long_name", "route_type": "cast(route_type as varchar)",
        "route_color": "route_color", "route_text_color": "if(route_color is null, null, 'FFFFFF')",
    },
    "trips.txt": {
        "route_id": "route_id", "service_id": "service_id", "trip_id": "trip_id", "trip_headsign": "headsign",
        "direction_id": "cast(direction as varchar)", "wheelchair_accessible": "'1'",
    },
    "stop_times.txt": {
        "trip_id": "trip_id", "arrival_time": _clock("minute"), "departure_time": _clock("minute"),
        "stop_id": "stop_id", "stop_sequence": "cast(stop_sequence as varchar)", "pickup_type": "'0'",
        "drop_off_type": "'0'",
    },
    "frequencies.txt": {
        "trip_id": "trip_id", "start_time": _clock("start_minute"), "end_time": _clock("last_minute"),
        "headway_secs": "cast(headway_secs as varchar)", "exact_times": "'0'",
    },
}  # fmt: skip

# Rows of each member (a query over the feed, then the order of its lines).
MEMBER_ROWS = {
    "stops.txt": ("select * from gtfs_stops where feed = $feed", "stop_id"),
    "routes.txt": (
        """
        select route_id, any_value(agency_id) as agency_id, any_value(route_short_name) as route_short_name,
               arg_min(stop_name, sequence) || ' - ' || arg_max(stop_name, sequence) as route_long_name,
               any_value(route_type) as route_type, any_value(route_color) as route_color
        from gtfs_points where feed = $feed group by route_id
        """,
        "route_id",
    ),
    "trips.txt": ("select * from gtfs_trips where feed = $feed", "trip_id"),
    "stop_times.txt": (
        """
        select
            t.trip_id,
            if(t.direction = 0, p.sequence, t.last + 1 - p.sequence) as stop_sequence,
            if(t.direction = 0, p.stop_id, coalesce(p.back_stop_id, p.stop_id)) as stop_id,
            t.start_minute + if(t.direction = 0, p.minute, t.duration - p.minute) as minute
        from gtfs_trips as t join gtfs_points as p using (feed, route_id)
        where t.feed = $feed
        """,
        "trip_id, stop_sequence",
    ),
    "frequencies.txt": ("select * from gtfs_trips where feed = $feed and headway_secs is not null", "trip_id"),
}


def member_query(feed: str, name: str, header: list[str]) -> str:
    """SQL of one member of a feed, in the sample's columns for it, in order."""
    columns = MEMBER_COLUMNS[name]
    rows, order = MEMBER_ROWS[name]
    select = ", ".join(f'{columns.get(column, "cast(null as varchar)")} as "{column}"' for column in header)
    qualified = ", ".join(f"r.{column.strip()}" for column in order.split(","))
    return f"select {select} from ({rows.replace('$feed', repr(feed))}) as r order by {qualified}"
