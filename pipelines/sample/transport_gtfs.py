"""Sample of transport_gtfs: the GTFS feeds of week 2026-W48 for the sample territory.

Three zips, written as their producers publish them (comma-separated UTF-8 text files,
CRLF line ends, fixed entry dates so that the bytes never change):

* `tcl-sytral.zip`, the urban network of 69123: a metro line through the nine
  arrondissements (stations with two platforms each, run by frequencies.txt, every 5 minutes
  on weekdays) and four bus lines from the town hall to the largest suburbs of the
  métropole; validity from feed_info.txt; Armistice day (Wednesday 11 November) runs the
  Sunday service.
* `mobigo-saone-et-loire.zip`, a rural coach line of 71 from villages to the préfecture
  71270: two trips each way on school days, one on Wednesdays, a Saturday market trip
  to a stop served on no other day (no departure on the reference Tuesday), and a village
  near the préfecture where inbound coaches only set down passengers (pickup_type 1).
* `sncf-ter.zip`, regional trains at the passenger stations of the sncf_stations sample
  (stop ids StopArea:OCE<UIC> and StopPoint:OCETrain TER-<UIC>, as in SNCF's export): a
  main line ending in the two stations of 69123 and a branch in 71 whose halt is served by
  half the trains.

Corse-du-Sud had only a summer shuttle, already expired: it is in the dataset list of
:func:`api_document`, which discovery must drop, but not in the vintage. La Réunion has
no feed.
"""

from __future__ import annotations

import csv
import io
import math
import random
import zipfile
from pathlib import Path

from pipelines.sample.sncf_stations import BRANCH_LINE, MAIN_LINE, Station, sample_stations
from pipelines.sample.territory import Commune, Territory

SOURCE = "transport_gtfs"
VINTAGE = "2026-W48"  # reference date: Tuesday 2026-11-24
ZIP_DATE = (2026, 11, 20, 5, 0, 0)
GEOGRAPHY = "2026"

Table = tuple[list[str], list[list]]

WEEKDAYS, SATURDAY, SUNDAY = (1, 1, 1, 1, 1, 0, 0), (0, 0, 0, 0, 0, 1, 0), (0, 0, 0, 0, 0, 0, 1)
SCHOOL_DAYS, WEDNESDAY = (1, 1, 0, 1, 1, 0, 0), (0, 0, 1, 0, 0, 0, 0)

# Validity of each sample feed (first and last day), also given to the dataset list.
VALIDITY = {
    "tcl-sytral": ("2026-08-31", "2027-07-04"),
    "mobigo-saone-et-loire": ("2026-08-31", "2027-07-03"),
    "sncf-ter": ("2026-11-01", "2026-12-12"),
    "navette-estivale-corse-du-sud": ("2026-06-15", "2026-09-15"),
}


def write(territory: Territory, dest: Path) -> list[str]:
    """Write the three feeds of 2026-W48 as <feed id>.zip; returns the vintage written."""
    folder = Path(dest) / SOURCE / VINTAGE
    folder.mkdir(parents=True, exist_ok=True)
    for feed_id, tables in sample_feeds(territory).items():
        (folder / f"{feed_id}.zip").write_bytes(gtfs_zip(tables))
    return [VINTAGE]


def sample_feeds(territory: Territory) -> dict[str, dict[str, Table]]:
    """Every sample feed by feed id: {GTFS file name: (header, rows)}."""
    return {
        "mobigo-saone-et-loire": _coach_feed(territory),
        "sncf-ter": _ter_feed(territory),
        "tcl-sytral": _city_feed(territory),
    }


def gtfs_zip(tables: dict[str, Table]) -> bytes:
    """A GTFS zip with fixed entry dates and attributes, so that its bytes never change."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, (header, rows) in tables.items():
            text = io.StringIO()
            writer = csv.writer(text, lineterminator="\r\n")
            writer.writerow(header)
            writer.writerows(rows)
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, text.getvalue().encode("utf-8"))
    return buffer.getvalue()


def api_document(territory: Territory) -> list[dict]:
    """The sample's datasets as https://transport.data.gouv.fr/api/datasets lists them.

    Besides the three feeds of the vintage it holds an expired GTFS (the Corse-du-Sud
    summer shuttle), a NeTEx and a GTFS-RT resource, and a community resource: discovery
    must keep only the three valid GTFS feeds.
    """
    rng = random.Random(f"{territory.seed}-{SOURCE}-api")
    datasets = []
    titles = {
        "tcl-sytral": ("Réseau urbain TCL", "SYTRAL Mobilités", "odc-odbl", ["bus", "subway"]),
        "mobigo-saone-et-loire": ("Réseau interurbain Mobigo — Saône-et-Loire", "Région Bourgogne-Franche-Comté",
                                  "lov2", ["bus"]),
        "sncf-ter": ("Horaires des lignes TER", "SNCF Voyageurs", "odc-odbl", ["rail"]),
        "navette-estivale-corse-du-sud": ("Navette estivale Corse-du-Sud", "Collectivité de Corse", "lov2", ["bus"]),
    }  # fmt: skip
    for slug, (title, publisher, licence, modes) in titles.items():
        start, end = VALIDITY[slug]
        dataset_id = f"{rng.getrandbits(96):024x}"
        resource_id = rng.randrange(10_000, 90_000)
        gtfs = {
            "datagouv_id": f"{rng.getrandbits(128):032x}",
            "id": resource_id,
            "title": f"{title} (GTFS)",
            "format": "GTFS",
            "type": "main",
            "is_available": True,
            "url": f"https://transport.data.gouv.fr/resources/{resource_id}/download",
            "original_url": f"https://exports.example-{slug}.fr/gtfs.zip",
            "updated": "2026-11-20T05:00:00+00:00",
            "start_calendar_validity": start,
            "end_calendar_validity": end,
            "metadata": {"start_date": start, "end_date": end, "modes": modes, "networks": [title]},
        }
        resources = [gtfs]
        if slug == "tcl-sytral":
            netex_url = f"https://transport.data.gouv.fr/resources/{resource_id + 1}/download"
            resources += [
                {"datagouv_id": f"{rng.getrandbits(128):032x}", "id": resource_id + 1, "title": "NeTEx TCL",
                 "format": "NeTEx", "type": "main", "url": netex_url},
                {"datagouv_id": f"{rng.getrandbits(128):032x}", "id": resource_id + 2, "title": "GTFS-RT TCL",
                 "format": "gtfs-rt", "type": "main", "url": "https://api.example-tcl-sytral.fr/gtfs-rt"},
            ]  # fmt: skip
        community = []
        if slug == "sncf-ter":
            community = [{"datagouv_id": f"{rng.getrandbits(128):032x}", "title": "TER enrichi", "format": "GTFS",
                          "url": "https://community.example.org/ter.zip",
                          "community_resource_publisher": "Une association d'usagers"}]  # fmt: skip
        datasets.append({
            "datagouv_id": dataset_id, "id": dataset_id, "slug": slug, "title": title, "type": "public-transit",
            "licence": licence, "page_url": f"https://transport.data.gouv.fr/datasets/{slug}",
            "publisher": {"name": publisher, "type": "organization"},
            "updated": "2026-11-20T05:00:00+00:00", "resources": resources, "community_resources": community,
        })  # fmt: skip
    return datasets


# ------------------------------------------------------------------------------------ feeds


def _city_feed(territory: Territory) -> dict[str, Table]:
    geography = territory.geography(GEOGRAPHY)
    city = geography.commune("69123")
    arrondissements = sorted((c for c in geography.communes if c.parent == "69123"), key=lambda c: c.code)
    suburbs = sorted(
        (c for c in geography.actuelles if c.epci == city.epci and c.code != city.code),
        key=lambda c: (-c.population, c.code),
    )[:4]
    stops, trips, stop_times, frequencies = [], [], [], []
    for arrondissement in arrondissements:
        name = arrondissement.name.replace(" Arrondissement", "")
        lon, lat = _near(territory, arrondissement, "metro")
        stops.append([f"S{arrondissement.code}", f"{name}", _f(lat), _f(lon), "1", "", "0"])
        for platform in ("1", "2"):
            station = f"S{arrondissement.code}"
            stops.append([f"P{arrondissement.code}{platform}", name, _f(lat), _f(lon), "0", station, "1"])
    town_hall = arrondissements[0]
    lon, lat = _near(territory, town_hall, "bus")
    stops.append(["BHDV", "Hôtel de Ville", _f(lat), _f(lon), "0", "", "1"])
    for suburb in suburbs:
        lon, lat = _near(territory, suburb, "bus")
        stops.append([f"B{suburb.code}M", f"{suburb.libelle} Entrée", _f((lat + town_hall.lat) / 2),
                      _f((lon + town_hall.lon) / 2), "0", "", "1"])  # fmt: skip
        stops.append([f"B{suburb.code}", f"{suburb.libelle} Centre", _f(lat), _f(lon), "0", "", "1"])

    metro = [s[0] for s in stops if s[0].startswith("P") and s[0].endswith("1")]
    metro_back = [s[0] for s in reversed(stops) if s[0].startswith("P") and s[0].endswith("2")]
    headways = {"SEM": ("05:00:00", 300), "SAM": ("05:00:00", 360), "DIM": ("06:00:00", 600)}
    for service, (start, headway) in headways.items():
        for direction, platforms in enumerate((metro, metro_back)):
            trip_id = f"A-{service}-{direction}"
            trips.append(["A", service, trip_id, _stop_name(stops, platforms[-1]), str(direction), "", "1"])
            stop_times += _stop_times(trip_id, platforms, [2] * (len(platforms) - 1), _minutes(start))
            frequencies.append([trip_id, start, "24:00:00", str(headway), "0"])
    bus_hours = {"SEM": range(5 * 60 + 40, 21 * 60 + 41, 20), "SAM": range(6 * 60 + 10, 21 * 60 + 11, 30),
                 "DIM": range(8 * 60 + 10, 20 * 60 + 11, 60)}  # fmt: skip
    routes = [["A", "TCL", "A", "Ligne A du métro", "", "1", "E2001A", "FFFFFF"]]
    for number, suburb in enumerate(suburbs, start=1):
        route = f"C{number}"
        routes.append([route, "TCL", route, f"Hôtel de Ville - {suburb.libelle}", "", "3", "0066B3", "FFFFFF"])
        line = ["BHDV", f"B{suburb.code}M", f"B{suburb.code}"]
        minutes = [max(3, round(_km(town_hall, suburb) * 1.2)), 6]
        for service, departures in bus_hours.items():
            for direction, path in enumerate((line, line[::-1])):
                gaps = minutes if direction == 0 else minutes[::-1]
                for run, start in enumerate(departures):
                    trip_id = f"{route}-{service}-{direction}-{run:02d}"
                    trips.append([route, service, trip_id, _stop_name(stops, path[-1]), str(direction), "", "1"])
                    stop_times += _stop_times(trip_id, path, gaps, start + 5 * direction)
    start, end = (d.replace("-", "") for d in VALIDITY["tcl-sytral"])
    calendar = [[s, *map(str, days), start, end] for s, days in (("SEM", WEEKDAYS), ("SAM", SATURDAY), ("DIM", SUNDAY))]
    holidays = ("20261111", "20261225", "20270101")  # weekdays without school or work: Sunday service
    calendar_dates = [[s, day, kind] for day in holidays for s, kind in (("SEM", "2"), ("DIM", "1"))]
    return {
        "agency.txt": (["agency_id", "agency_name", "agency_url", "agency_timezone", "agency_lang", "agency_phone"],
                       [["TCL", "TCL", "https://www.tcl.fr", "Europe/Paris", "fr", "04 26 10 12 12"]]),
        "calendar.txt": (CALENDAR_HEADER, calendar),
        "calendar_dates.txt": (["service_id", "date", "exception_type"], calendar_dates),
        "feed_info.txt": (["feed_publisher_name", "feed_publisher_url", "feed_lang", "feed_start_date", "feed_end_date",
                           "feed_version"],
                          [["SYTRAL Mobilités", "https://www.sytral.fr", "fr", start, end, "2026-11-20"]]),
        "frequencies.txt": (["trip_id", "start_time", "end_time", "headway_secs", "exact_times"], frequencies),
        "routes.txt": (["route_id", "agency_id", "route_short_name", "route_long_name", "route_desc", "route_type",
                        "route_color", "route_text_color"], routes),
        "stop_times.txt": (["trip_id", "arrival_time", "departure_time", "stop_id", "stop_sequence", "pickup_type",
                            "drop_off_type"], stop_times),
        "stops.txt": (["stop_id", "stop_name", "stop_lat", "stop_lon", "location_type", "parent_station",
                       "wheelchair_boarding"], stops),
        "trips.txt": (["route_id", "service_id", "trip_id", "trip_headsign", "direction_id", "block_id",
                       "wheelchair_accessible"], trips),
    }  # fmt: skip


def _coach_feed(territory: Territory) -> dict[str, Table]:
    geography = territory.geography(GEOGRAPHY)
    prefecture = geography.commune("71270")
    rural = [c for c in geography.actuelles if c.departement == "71" and c.density_level >= 5]
    nearby = sorted((c for c in rural if 3 <= _km(c, prefecture) <= 30), key=lambda c: (_km(c, prefecture), c.code))
    villages = sorted(nearby[:5], key=lambda c: (-_km(c, prefecture), c.code))  # farthest first
    stops = []
    for village in villages:
        lon, lat = _near(territory, village, "coach")
        stops.append([f"MOB{village.code}", f"{village.libelle} Mairie", _f(lat), _f(lon), "", ""])
    lon, lat = _near(territory, prefecture, "coach")
    stops.append(["MOBVIL-GR", f"{prefecture.libelle} Gare routière", _f(lat), _f(lon), "", ""])
    lon, lat = _near(territory, prefecture, "market")
    stops.append(["MOBVIL-MAR", f"{prefecture.libelle} Place du Marché", _f(lat), _f(lon), "", ""])

    outbound = [s[0] for s in stops[:-1]]
    gaps = [max(4, round(_km(a, b) * 1.5)) for a, b in zip(villages, [*villages[1:], prefecture])]
    market = [*outbound[:-1], "MOBVIL-MAR"]
    schedule = [  # (service, trip suffix, path, minutes between stops, start)
        ("SCOL", "A1", outbound, gaps, 6 * 60 + 50), ("SCOL", "A2", outbound, gaps, 12 * 60 + 20),
        ("SCOL", "R1", outbound[::-1], gaps[::-1], 12 * 60 + 15),
        ("SCOL", "R2", outbound[::-1], gaps[::-1], 17 * 60 + 35),
        ("MER", "A1", outbound, gaps, 6 * 60 + 50), ("MER", "R1", outbound[::-1], gaps[::-1], 12 * 60 + 15),
        ("SAMM", "A1", market, gaps, 8 * 60 + 30), ("SAMM", "R1", market[::-1], gaps[::-1], 12 * 60),
    ]  # fmt: skip
    trips, stop_times = [], []
    for service, suffix, path, minutes, start in schedule:
        trip_id = f"701-{service}-{suffix}"
        direction = "0" if suffix.startswith("A") else "1"
        trips.append(["701", service, trip_id, _stop_name(stops, path[-1]), direction])
        rows = _stop_times(trip_id, path, minutes, start)
        if direction == "1":
            # Closed-door section: inbound coaches only set down at the village next to the préfecture.
            rows[1][5] = "1"
        stop_times += rows
    start, end = (d.replace("-", "") for d in VALIDITY["mobigo-saone-et-loire"])
    services = (("SCOL", SCHOOL_DAYS), ("MER", WEDNESDAY), ("SAMM", SATURDAY))
    calendar = [[s, *map(str, days), start, end] for s, days in services]
    return {
        "agency.txt": (["agency_id", "agency_name", "agency_url", "agency_timezone", "agency_lang"],
                       [["MOBIGO71", "Mobigo", "https://www.viamobigo.fr", "Europe/Paris", "fr"]]),
        "calendar.txt": (CALENDAR_HEADER, calendar),
        "calendar_dates.txt": (["service_id", "date", "exception_type"], [["MER", "20261111", "2"]]),
        "routes.txt": (["route_id", "agency_id", "route_short_name", "route_long_name", "route_type"],
                       [["701", "MOBIGO71", "701", f"{villages[0].libelle} - {prefecture.libelle}", "3"]]),
        "stop_times.txt": (["trip_id", "arrival_time", "departure_time", "stop_id", "stop_sequence", "pickup_type",
                            "drop_off_type"], stop_times),
        "stops.txt": (["stop_id", "stop_name", "stop_lat", "stop_lon", "location_type", "parent_station"], stops),
        "trips.txt": (["route_id", "service_id", "trip_id", "trip_headsign", "direction_id"], trips),
    }  # fmt: skip


def _ter_feed(territory: Territory) -> dict[str, Table]:
    stations = [s for s in sample_stations(territory) if s.passengers]
    main = [s for s in stations if s.line == MAIN_LINE]
    prefecture = next(s for s in main if s.commune_code == "71270")
    branch = [prefecture, *(s for s in stations if s.line == BRANCH_LINE)]
    stops = []
    for s in stations:
        stops.append([f"StopArea:OCE{s.uic}", f"Gare de {s.name}", "", _f(s.lat), _f(s.lon), "", "", "1", ""])
        stops.append([f"StopPoint:OCETrain TER-{s.uic}", f"Gare de {s.name}", "", _f(s.lat), _f(s.lon), "", "", "0",
                      f"StopArea:OCE{s.uic}"])  # fmt: skip

    def platform(s: Station) -> str:
        return f"StopPoint:OCETrain TER-{s.uic}"

    def minutes(path: list[Station]) -> list[int]:
        return [max(4, round(_station_km(a, b) * 60 / 85) + 1) for a, b in zip(path, path[1:])]

    main_hours = {"SEM": (6, 7, 8, 10, 12, 14, 16, 17, 18, 19), "SAM": (7, 9, 12, 15, 17, 19), "DIM": (9, 13, 17, 20)}
    branch_hours = {"SEM": (6, 8, 12, 18), "SAM": (9, 17)}
    trips, stop_times = [], []

    def add(route: str, service: str, path: list[Station], hours: tuple[int, ...], skip_halt: bool) -> None:
        for direction, ordered in enumerate((path, path[::-1])):
            for run, hour in enumerate(hours):
                served = ordered
                if skip_halt and run % 2:
                    served = [s for s in ordered if s is not branch[1]]  # every other train runs through the halt
                trip_id = f"OCESN{route}{service}{direction}{run:02d}"
                trips.append([route, service, trip_id, f"Gare de {served[-1].name}", str(direction), "", ""])
                stop_times.extend(_stop_times(trip_id, [platform(s) for s in served], minutes(served),
                                              hour * 60 + 5 + 20 * direction))  # fmt: skip

    for service, hours in main_hours.items():
        add("OCE1", service, main, hours, skip_halt=False)
    for service, hours in branch_hours.items():
        add("OCE2", service, branch, hours, skip_halt=True)
    start, end = (d.replace("-", "") for d in VALIDITY["sncf-ter"])
    calendar = [[s, *map(str, days), start, end] for s, days in (("SEM", WEEKDAYS), ("SAM", SATURDAY), ("DIM", SUNDAY))]
    return {
        "agency.txt": (["agency_id", "agency_name", "agency_url", "agency_timezone", "agency_lang"],
                       [["OCESN", "SNCF", "http://www.ter-sncf.com", "Europe/Paris", "fr"]]),
        "calendar.txt": (CALENDAR_HEADER, calendar),
        "calendar_dates.txt": (["service_id", "date", "exception_type"],
                               [["SEM", "20261111", "2"], ["DIM", "20261111", "1"]]),
        "routes.txt": (["route_id", "agency_id", "route_short_name", "route_long_name", "route_desc", "route_type",
                        "route_url", "route_color", "route_text_color"],
                       [["OCE1", "OCESN", "", f"{main[0].name}-{main[-1].name}", "", "2", "", "", ""],
                        ["OCE2", "OCESN", "", f"{branch[0].name}-{branch[-1].name}", "", "2", "", "", ""]]),
        "stop_times.txt": (["trip_id", "arrival_time", "departure_time", "stop_id", "stop_sequence", "stop_headsign",
                            "pickup_type", "drop_off_type", "shape_dist_traveled"],
                           [[*row[:5], "", row[5], row[6], ""] for row in stop_times]),
        "stops.txt": (["stop_id", "stop_name", "stop_desc", "stop_lat", "stop_lon", "zone_id", "stop_url",
                       "location_type", "parent_station"], stops),
        "trips.txt": (["route_id", "service_id", "trip_id", "trip_headsign", "direction_id", "block_id", "shape_id"],
                      trips),
    }  # fmt: skip


# ---------------------------------------------------------------------------------- helpers

CALENDAR_HEADER = ["service_id", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
                   "start_date", "end_date"]  # fmt: skip


def _stop_name(stops: list[list], stop_id: str) -> str:
    """The stop_name of a stop of the table being built (a trip's headsign)."""
    return next(row[1] for row in stops if row[0] == stop_id)


def _stop_times(trip_id: str, path: list[str], gaps: list[int], start: int) -> list[list]:
    """stop_times rows of one trip: [trip_id, arrival, departure, stop_id, sequence, pickup, drop_off]."""
    rows, minute = [], start
    for sequence, stop_id in enumerate(path, start=1):
        time = _clock(minute)
        rows.append([trip_id, time, time, stop_id, str(sequence), "0", "0"])
        if sequence <= len(gaps):
            minute += gaps[sequence - 1]
    return rows


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}:00"


def _minutes(clock: str) -> int:
    hours, minutes, _ = clock.split(":")
    return int(hours) * 60 + int(minutes)


def _near(territory: Territory, commune: Commune, what: str) -> tuple[float, float]:
    """A point a few hundred metres from a town hall, the same on every run."""
    rng = random.Random(f"{territory.seed}-{SOURCE}-{what}-{commune.code}")
    return commune.lon + rng.uniform(-0.004, 0.004), commune.lat + rng.uniform(-0.003, 0.003)


def _f(value: float) -> str:
    return f"{value:.6f}"


def _km(first: Commune, second: Commune) -> float:
    return _haversine(first.lon, first.lat, second.lon, second.lat)


def _station_km(first: Station, second: Station) -> float:
    return _haversine(first.lon, first.lat, second.lon, second.lat)


def _haversine(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))
