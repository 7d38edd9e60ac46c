"""transport_gtfs: feed discovery, GTFS stops and departures per stop, on real feeds and the sample."""

from __future__ import annotations

import csv
import io
import json
import shutil
import zipfile
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest
from source_checks import dbt_build, assert_refused_and_nothing_lost, load_from_folder

from pipelines.warehouse.ingestion import current_snapshots, parse_and_validate
from pipelines.sample import build_territory
from pipelines.sample.sncf_stations import BRANCH_LINE, sample_stations
from pipelines.sample.transport_gtfs import api_document, sample_feeds
from pipelines.sample.transport_gtfs import write as write_sample_feeds
from pipelines.settings import DataHome
from pipelines.sources.catalogue import get_source
from pipelines.sources.fetch import Fetcher
from pipelines.sources.readers.transport_gtfs import notes, read
from pipelines.sources.snapshots import RawStore
from pipelines.sources.transport_feeds import FeedFile, discover_feeds, reference_date, vintage_feeds, week_vintage

SOURCE = "transport_gtfs"
VINTAGE = "2026-W48"
PROJECT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------- vintages and discovery


def test_a_vintage_is_an_iso_week_whose_tuesday_is_the_reference_date():
    assert reference_date("2026-W48") == date(2026, 11, 24)
    assert reference_date("2027-W01") == date(2027, 1, 5)
    assert reference_date("2026-11-26") == date(2026, 11, 26)
    assert week_vintage(date(2026, 11, 29)) == "2026-W48"
    for wrong in ("W48", "2026-W54", "2026-13-01", "2026"):
        with pytest.raises(ValueError, match="neither an ISO week"):
            reference_date(wrong)


def _dataset(slug: str, *resources: dict, community: tuple[dict, ...] = ()) -> dict:
    """A dataset as https://transport.data.gouv.fr/api/datasets lists it (fields we do not read kept)."""
    return {
        "datagouv_id": f"id-{slug}", "id": f"id-{slug}", "slug": slug, "title": slug.title(),
        "type": "public-transit", "licence": "lov2", "page_url": f"https://transport.data.gouv.fr/datasets/{slug}",
        "publisher": {"name": "Producteur", "type": "organization"}, "covered_area": {"type": "aom", "name": slug},
        "resources": list(resources), "community_resources": list(community), "updated": "2026-11-20T05:00:00+00:00",
    }  # fmt: skip


def _resource(resource_id: int, fmt: str = "GTFS", start: str | None = "2026-09-01", end: str | None = "2027-07-04",
              **extra) -> dict:  # fmt: skip
    metadata = {k: v for k, v in (("start_date", start), ("end_date", end)) if v} | {"modes": ["bus"]}
    resource = {
        "datagouv_id": f"r{resource_id}", "id": resource_id, "title": f"{fmt} {resource_id}", "format": fmt,
        "type": "main", "url": f"https://transport.data.gouv.fr/resources/{resource_id}/download",
        "original_url": f"https://producer.example/{resource_id}.zip", "metadata": metadata, **extra,
    }  # fmt: skip
    if start and end:
        resource |= {"start_calendar_validity": start, "end_calendar_validity": end}
    return resource


def test_discovery_keeps_the_gtfs_feeds_still_valid_on_the_date(tmp_path):
    document = tmp_path / "datasets.json"
    document.write_text(json.dumps([
        _dataset("reseau-urbain", _resource(1), _resource(2, "NeTEx"), _resource(3, "gtfs-rt", None, None)),
        _dataset("navette-ete", _resource(4, end="2026-09-15")),
        _dataset("cars-regionaux", _resource(5, end="2026-12-12"), _resource(6, start="2026-12-13")),
        _dataset("sans-calendrier", _resource(7, start=None, end=None)),
        _dataset("flux-retire", _resource(8, is_available=False)),
        _dataset("ter", _resource(9, end="2026-11-24"),
                 community=(_resource(10, end="2030-01-01", community_resource_publisher="someone"),)),
    ]), encoding="utf-8")  # fmt: skip
    feeds = discover_feeds(document, date(2026, 11, 24))
    assert feeds == [
        FeedFile("cars-regionaux-5.zip", "https://transport.data.gouv.fr/resources/5/download"),
        FeedFile("cars-regionaux-6.zip", "https://transport.data.gouv.fr/resources/6/download"),
        FeedFile("reseau-urbain.zip", "https://transport.data.gouv.fr/resources/1/download"),
        FeedFile("sans-calendrier.zip", "https://transport.data.gouv.fr/resources/7/download"),
        FeedFile("ter.zip", "https://transport.data.gouv.fr/resources/9/download"),  # last day still counts
    ]
    # Three weeks later the TER feed and the autumn coach timetable have expired; the winter
    # timetable keeps its id.
    later = [f.name for f in vintage_feeds(document, "2026-W51")]
    assert later == ["cars-regionaux-6.zip", "reseau-urbain.zip", "sans-calendrier.zip"]


def test_discovery_refuses_a_document_that_is_not_the_dataset_list(tmp_path):
    document = tmp_path / "datasets.json"
    document.write_text('{"errors": "rate limited"}', encoding="utf-8")
    with pytest.raises(ValueError, match="should be a JSON array of datasets"):
        discover_feeds(document, date(2026, 11, 24))


def test_discovery_of_the_sample_dataset_list_gives_the_sample_s_feeds(tmp_path):
    document = tmp_path / "datasets.json"
    document.write_text(json.dumps(api_document(build_territory()), ensure_ascii=False), encoding="utf-8")
    feeds = vintage_feeds(document, VINTAGE)
    # The expired Corse-du-Sud summer shuttle is dropped, NeTEx, GTFS-RT and community resources ignored.
    assert [f.name for f in feeds] == sorted(f"{feed_id}.zip" for feed_id in sample_feeds(build_territory()))
    assert all(f.url.startswith("https://transport.data.gouv.fr/resources/") for f in feeds)


# ---------------------------------------------------------------- real feeds


def _gtfs_table(archive: Path, name: str) -> list[dict]:
    with zipfile.ZipFile(archive) as opened:
        return list(csv.DictReader(io.StringIO(opened.read(name).decode("utf-8-sig"))))


def _independent_departures(archive: Path, day: date) -> tuple[int, Counter]:
    """(trips, departures per stop) on a day, counted row by row from the GTFS text files."""
    weekday = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")[day.weekday()]
    stamp = day.strftime("%Y%m%d")
    services = {
        row["service_id"] for row in _gtfs_table(archive, "calendar.txt")
        if row["start_date"] <= stamp <= row["end_date"] and row[weekday] == "1"
    }  # fmt: skip
    for row in _gtfs_table(archive, "calendar_dates.txt"):
        if row["date"] == stamp:
            (services.add if row["exception_type"] == "1" else services.discard)(row["service_id"])
    running = {row["trip_id"] for row in _gtfs_table(archive, "trips.txt") if row["service_id"] in services}
    calls: dict[str, list[dict]] = {}
    for row in _gtfs_table(archive, "stop_times.txt"):
        if row["trip_id"] in running:
            calls.setdefault(row["trip_id"], []).append(row)
    departures: Counter = Counter()
    for stops in calls.values():
        stops.sort(key=lambda r: int(r["stop_sequence"]))
        departures.update(r["stop_id"] for r in stops[:-1] if r.get("pickup_type") != "1")
    return len(running), departures


@pytest.fixture
def frioul(tmp_path, real_data) -> Path:
    feed = tmp_path / "frioul-if-express.zip"
    shutil.copy(real_data / "gtfs" / "frioul-if-express" / "gtfs.zip", feed)
    return feed


@pytest.mark.real_data
def test_frioul_stops_validity_and_departures_on_the_week_s_tuesday(frioul):
    parsed = read([frioul], "2016-W46")
    stops, _ = parsed["stops"]
    assert stops.height == 9
    stations = stops.filter(stops["location_type"] == "1")
    assert sorted(stations["stop_id"]) == ["S14944", "S14945", "S14946"]
    platforms = stops.filter(stops["location_type"] == "0")
    assert set(platforms["parent_station"]) == {"S14944", "S14945", "S14946"} and platforms.height == 6
    vieux_port = stops.filter(stops["stop_id"] == "7001").row(0, named=True)
    assert vieux_port["parent_station"] == "S14946"
    assert float(vieux_port["stop_lat"]) == pytest.approx(43.29464, abs=1e-5)

    feed = parsed["feeds"][0].row(0, named=True)
    assert feed["agency_names"] == "Frioul If Express"
    # No feed_info.txt: validity spans the days trips run, the summer service VSF-TR15 included.
    validity = (feed["start_date"], feed["end_date"], feed["validity_source"])
    assert validity == ("2016-04-08", "2017-04-02", "service_days")
    assert (feed["reference_date"], feed["departures_status"]) == ("2016-11-15", "counted")

    trips, expected = _independent_departures(frioul, date(2016, 11, 15))
    assert feed["trips_on_reference_date"] == str(trips) == "24"
    departures, _ = parsed["stop_departures"]
    counted = {row["stop_id"]: int(row["departures"]) for row in departures.iter_rows(named=True)}
    assert counted == {stop: expected.get(stop, 0) for stop in counted}
    assert counted == {"7001": 12, "7002": 0, "7003": 4, "7004": 0, "7005": 2, "7006": 12}


@pytest.mark.real_data
def test_a_feed_not_running_in_the_vintage_week_is_reported_as_having_no_service(frioul):
    parsed = read([frioul], "2026-W48")
    feed = parsed["feeds"][0].row(0, named=True)
    # the Frioul feed runs in 2016-2017 only: nothing on Tuesday 2026-11-24, and no other day stands in
    assert (feed["departures_status"], feed["reference_date"], feed["trips_on_reference_date"]) == (
        "no_service", "2026-11-24", "0",
    )
    assert (feed["start_date"], feed["end_date"]) == ("2016-04-08", "2017-04-02")
    assert "stop_departures" not in parsed
    assert notes(parsed) == ["no service on 2026-11-24 for 1 feed(s): frioul-if-express"]


@pytest.mark.real_data
def test_ter_export_without_stop_times_gives_its_stations_but_no_departures(tmp_path, real_data):
    folder = real_data / "gtfs" / "sncf-ter-export-2020"
    feed = tmp_path / "sncf-ter.zip"
    with zipfile.ZipFile(feed, "w") as archive:
        for name in ("agency.txt", "routes.txt", "stops.txt"):
            archive.write(folder / name, name)
    store = RawStore(tmp_path / "home")
    with Fetcher(store, offline=True) as fetcher:
        fetcher.ingest_file(SOURCE, "2020-W09", feed)
    frames = parse_and_validate(get_source(SOURCE), "2020-W09", current_snapshots(store, SOURCE, "2020-W09"))

    row = frames["feeds"][0].row(0, named=True)
    assert row["departures_status"] == "missing_files"
    assert row["missing_files"] == "calendar.txt or calendar_dates.txt, stop_times.txt, trips.txt"
    assert row["reference_date"] is None and row["agency_names"] == "SNCF | -"
    stops = frames["stops"][0]
    assert stops.height == 9_178
    assert Counter(stops["location_type"]) == {"0": 5_342, "1": 3_836}
    creusot = stops.filter(stops["parent_station"] == "StopArea:OCE87694000")
    assert "StopPoint:OCETrain TER-87694000" in creusot["stop_id"].to_list()
    assert float(creusot["stop_lat"][0]) == pytest.approx(46.80783, abs=1e-5)
    assert "stop_departures" not in frames  # nothing to count in any feed of that vintage


# ---------------------------------------------------------------- the sample


@pytest.fixture(scope="module")
def sample_mirror(tmp_path_factory) -> Path:
    """This source's sample files as a mirror tree (written alone, as write_sample writes them)."""
    target = tmp_path_factory.mktemp("transport_mirror")
    assert write_sample_feeds(build_territory(), target) == [VINTAGE]
    return target


@pytest.fixture(scope="module")
def loaded_home(tmp_path_factory, sample_mirror) -> DataHome:
    """The sample vintage loaded once; refused variants must leave it as it is."""
    home = DataHome(tmp_path_factory.mktemp("transport_home")).ensure()
    outcome = load_from_folder(home, sample_mirror, SOURCE, VINTAGE)
    assert outcome.status == "loaded", outcome.detail
    return home


def test_sample_bytes_are_the_same_on_every_write(tmp_path, sample_mirror):
    write_sample_feeds(build_territory(), tmp_path)
    for feed in sorted((sample_mirror / SOURCE / VINTAGE).iterdir()):
        assert (tmp_path / SOURCE / VINTAGE / feed.name).read_bytes() == feed.read_bytes(), feed.name
    assert write_sample_feeds(build_territory(7), tmp_path / "other-seed") == [VINTAGE]


def test_sample_loads_every_feed_stop_and_served_stop(loaded_home):
    feeds = sample_feeds(build_territory())
    with duckdb.connect(str(loaded_home.work_db), read_only=True) as con:
        loads = dict(con.execute(
            "select entity, rows from meta.raw_loads where source = ? and vintage = ?", [SOURCE, VINTAGE]
        ).fetchall())  # fmt: skip
    served = sum(len({row[3] for row in tables["stop_times.txt"][1]}) for tables in feeds.values())
    assert loads == {
        "feeds": 3,
        "stops": sum(len(tables["stops.txt"][1]) for tables in feeds.values()),
        "stop_departures": served,
    }


def _raw(home: DataHome, sql: str) -> list[tuple]:
    with duckdb.connect(str(home.work_db), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_sample_tells_its_story(loaded_home):
    statuses = _raw(
        loaded_home,
        "select feed_id, reference_date, departures_status, validity_source "
        'from raw."transport_gtfs__feeds" order by 1',
    )
    assert statuses == [
        ("mobigo-saone-et-loire", "2026-11-24", "counted", "service_days"),
        ("sncf-ter", "2026-11-24", "counted", "service_days"),
        ("tcl-sytral", "2026-11-24", "counted", "feed_info"),
    ]
    departures = dict(_raw(loaded_home, 'select stop_id, departures::int from raw."transport_gtfs__stop_departures"'))
    # The metro runs every 5 minutes from 05:00 to midnight: 228 departures per direction.
    assert departures["P693851"] == departures["P693852"] == 228
    assert departures["BHDV"] == 4 * 49  # four bus lines leave the town hall every 20 minutes
    # The rural coach line: at most two trips each way, none to the market on a Tuesday.
    coach = {k: v for k, v in departures.items() if k.startswith("MOB")}
    assert max(coach.values()) == 4 and coach["MOBVIL-MAR"] == 0
    # The TER stops at the stations of the SNCF list; the branch halt sees half of the trains.
    stations = {s.uic: s for s in sample_stations(build_territory()) if s.passengers}
    ter = {k.removeprefix("StopPoint:OCETrain TER-"): v for k, v in departures.items() if k.startswith("StopPoint:")}
    assert set(ter) == set(stations)
    halt = next(uic for uic, s in stations.items() if s.line == BRANCH_LINE)  # the branch's first station
    assert ter[halt] == 4
    # No stop in Corse-du-Sud or La Réunion (only an expired shuttle there, dropped by discovery).
    lats = [lat for (lat,) in _raw(loaded_home, 'select stop_lat::double from raw."transport_gtfs__stops"')]
    assert min(lats) > 45 and max(lats) < 47.2


def _rewrite_member(archive: Path, member: str, change) -> None:
    """Rewrite one file of a GTFS zip in place: change(bytes) -> bytes, or None to drop it."""
    with zipfile.ZipFile(archive) as opened:
        entries = [(info, opened.read(info)) for info in opened.infolist()]
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as rewritten:
        for info, data in entries:
            if info.filename == member:
                data = change(data)
                if data is None:
                    continue
            rewritten.writestr(info, data)


def _replace(old: str, new: str, encoding: str = "utf-8"):
    return lambda data: data.decode("utf-8").replace(old, new).encode(encoding)


def _decimal_comma(data: bytes) -> bytes:
    """stops.txt as a spreadsheet in a French locale saves it: '46,3336' (quoted) for 46.3336."""
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    column = rows[0].index("stop_lat")
    rows[1][column] = rows[1][column].replace(".", ",")
    text = io.StringIO()
    csv.writer(text, lineterminator="\r\n").writerows(rows)
    return text.getvalue().encode("utf-8")


BROKEN = [
    ("tcl-sytral.zip", "stops.txt", _replace("stop_lat,", "latitude,"),
     ("tcl-sytral.zip", "column stop_lat is missing")),
    ("tcl-sytral.zip", "stop_times.txt", _replace("trip_id,", "trip,"),
     ("stop_times.txt", "column trip_id is missing")),
    ("sncf-ter.zip", "stops.txt", lambda d: None, ("sncf-ter.zip", "no stops.txt")),
    ("tcl-sytral.zip", "stops.txt", _replace("Hôtel de Ville", "Hôtel de Ville", "latin-1"),
     ("tcl-sytral.zip", "cannot be decoded as utf-8")),
    ("mobigo-saone-et-loire.zip", "stops.txt", lambda d: _decimal_comma(d),
     ("mobigo-saone-et-loire.zip", "stop_lat", "not plain numbers")),
    ("mobigo-saone-et-loire.zip", "calendar.txt", _replace("20260831", "2026-08-31"),
     ("mobigo-saone-et-loire.zip", "departures cannot be counted")),
    ("mobigo-saone-et-loire.zip", None, None, ("mobigo-saone-et-loire.zip", "empty")),
]  # fmt: skip


@pytest.mark.parametrize(
    ("feed", "member", "change", "expected"),
    BROKEN,
    ids=["missing-column", "renamed-column", "missing-stops-file", "latin-1", "decimal-comma",
         "dates-not-yyyymmdd", "empty-zip"],
)  # fmt: skip
def test_broken_feeds_are_refused_and_nothing_is_lost(
    tmp_path, sample_mirror, loaded_home, feed, member, change, expected
):
    broken = tmp_path / "mirror"
    shutil.copytree(sample_mirror, broken)
    path = broken / SOURCE / VINTAGE / feed
    if member is None:
        path.write_bytes(b"")
    else:
        _rewrite_member(path, member, change)
    assert_refused_and_nothing_lost(loaded_home, broken, SOURCE, VINTAGE, *expected)


def test_a_refused_feed_leaves_the_other_feeds_current(tmp_path, sample_mirror):
    home = DataHome(tmp_path / "home").ensure()
    assert load_from_folder(home, sample_mirror, SOURCE, VINTAGE).status == "loaded"
    broken = tmp_path / "mirror"
    shutil.copytree(sample_mirror, broken)
    _rewrite_member(broken / SOURCE / VINTAGE / "tcl-sytral.zip", "stops.txt", _replace("stop_lat,", "latitude,"))
    assert load_from_folder(home, broken, SOURCE, VINTAGE).status == "invalid"
    current = current_snapshots(RawStore(home.root), SOURCE, VINTAGE)
    assert sorted(s.file_name for s in current) == ["mobigo-saone-et-loire.zip", "sncf-ter.zip", "tcl-sytral.zip"]


# ---------------------------------------------------------------- staging


@pytest.mark.integration
def test_staging_models_type_the_sample(tmp_path, loaded_home):
    database = tmp_path / "warehouse.duckdb"
    shutil.copy(loaded_home.work_db, database)
    result = dbt_build(database, tmp_path, "path:models/staging/transport_gtfs")
    assert result.returncode == 0, result.stdout[-3000:]
    with duckdb.connect(str(database), read_only=True) as con:
        types = dict(con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'staging' and table_name = 'stg_transport_gtfs__stop_departures'"
        ).fetchall())  # fmt: skip
        assert types["departures"] == "INTEGER" and types["reference_date"] == "DATE"
        metro = con.execute(
            "select location_type, count(*) from staging.stg_transport_gtfs__stops "
            "where feed_id = 'tcl-sytral' and (stop_id like 'S69%' or stop_id like 'P69%') group by 1 order by 1"
        ).fetchall()  # fmt: skip
        assert metro == [(0, 18), (1, 9)]
        busiest = con.execute(
            "select s.stop_name, d.departures from staging.stg_transport_gtfs__stop_departures as d "
            "join staging.stg_transport_gtfs__stops as s using (vintage, feed_id, stop_id) "
            "order by d.departures desc, s.stop_id limit 1"
        ).fetchone()  # fmt: skip
        assert busiest[1] == 228 and busiest[0].startswith("Talost")


@pytest.mark.integration
def test_departures_of_a_feed_that_could_not_be_counted_are_unknown_not_zero(sample_build, tmp_path):
    """The feed list feeds the indicator: stops of a feed without readable stop_times leave
    their communes' departures unknown, while a commune without any stop has 0."""
    home, _ = sample_build
    database = tmp_path / "warehouse.duckdb"
    shutil.copy(home.work_db, database)
    with duckdb.connect(str(database)) as con:
        feed, vintage = con.execute(
            "select feed_id, _vintage from raw.transport_gtfs__feeds where departures_status = 'counted' "
            "order by _vintage desc, feed_id limit 1"
        ).fetchone()
        con.execute(
            "update raw.transport_gtfs__feeds set departures_status = 'missing_files', missing_files = 'stop_times.txt' "
            "where feed_id = ? and _vintage = ?", [feed, vintage]
        )
        con.execute("delete from raw.transport_gtfs__stop_departures where feed_id = ? and _vintage = ?", [feed, vintage])
    result = dbt_build(database, tmp_path, "+int_indicator_parts__transport")
    assert result.returncode == 0, result.stdout[-3000:]
    with duckdb.connect(str(database), read_only=True) as con:
        served = {r[0] for r in con.execute(
            "select distinct commune_code from intermediate.int_transit_stops_located where feed_id = ? and vintage = ?",
            [feed, vintage],
        ).fetchall()}  # fmt: skip
        departures = dict(con.execute(
            "select commune_code, numerator from intermediate.int_indicator_parts__transport "
            "where indicator_id = 'transit_departures_per_day' and vintage = ?", [vintage]
        ).fetchall())  # fmt: skip
        stops = dict(con.execute(
            "select commune_code, numerator from intermediate.int_indicator_parts__transport "
            "where indicator_id = 'transit_stop_count' and vintage = ?", [vintage]
        ).fetchall())  # fmt: skip
    assert served and all(departures[c] is None and stops[c] > 0 for c in served)
    assert any(value == 0 for code, value in departures.items() if stops[code] == 0)
    assert any(value and value > 0 for value in departures.values())


def test_a_feed_with_calendar_dates_only_is_counted(tmp_path):
    """SNCF's national feed (horaires-sncf) has no calendar.txt: every service lists its days."""
    tables = {
        "agency.txt": "agency_id,agency_name,agency_url,agency_timezone\nSNCF,SNCF,https://sncf.example,Europe/Paris\n",
        "stops.txt": "stop_id,stop_name,stop_lat,stop_lon\nA,Gare A,46.8,4.4\nB,Gare B,46.9,4.5\n",
        "routes.txt": "route_id,agency_id,route_short_name,route_type\nR,SNCF,TER,2\n",
        "trips.txt": "route_id,service_id,trip_id\nR,TUE,t1\nR,WED,t2\n",
        "stop_times.txt": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
                          "t1,08:00:00,08:00:00,A,1\nt1,08:30:00,08:30:00,B,2\n"
                          "t2,09:00:00,09:00:00,A,1\nt2,09:30:00,09:30:00,B,2\n",
        "calendar_dates.txt": "service_id,date,exception_type\nTUE,20261124,1\nWED,20261125,1\n",
    }  # fmt: skip
    feed = tmp_path / "horaires-sncf.zip"
    with zipfile.ZipFile(feed, "w") as archive:
        for name, text in tables.items():
            archive.writestr(name, text)
    parsed = read([feed], VINTAGE)
    row = parsed["feeds"][0].row(0, named=True)
    assert (row["departures_status"], row["trips_on_reference_date"]) == ("counted", "1")
    departures = dict(parsed["stop_departures"][0].select("stop_id", "departures").iter_rows())
    assert departures == {"A": "1", "B": "0"}  # the Tuesday trip leaves A; B is its terminus
