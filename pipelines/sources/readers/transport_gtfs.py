"""GTFS feeds (transport.data.gouv.fr): feeds, stops, and departures per stop on a reference date.

Each file of a vintage is one GTFS zip, `<feed id>.zip` (other files are ignored). Three
entities come out, all text:

* `feeds`: feed_id, file_sha256 (the feed file's own snapshot), agency_names (` | `-joined),
  start_date / end_date (ISO dates; from feed_info.txt when it gives them, otherwise the
  first and last days a trip runs), validity_source, reference_date,
  trips_on_reference_date, departures_status and missing_files.
* `stops`: the stops.txt columns feed_id, stop_id, stop_name, stop_lat, stop_lon,
  location_type (1 = station, 0 or empty = stop or platform) and parent_station. Stops carry
  no commune code: they are placed in communes later, from their coordinates.
* `stop_departures`: feed_id, stop_id, reference_date, departures — for every stop that
  stop_times.txt serves, the departures where passengers can board on the reference date:
  the stops of the trips running that day, except each trip's last stop and stops with
  pickup_type 1; a frequency-based trip (frequencies.txt) counts once per run. A trip past
  midnight (times after 24:00:00) counts on its service day, as GTFS defines it.

The reference date is the vintage's date (the Tuesday of an ISO-week vintage, see
pipelines.sources.transport_feeds). A feed with no trip that day (a school line in the
holidays, a feed given for another period) is reported as such: departures_status
`no_service`, 0 trips, and no stop_departures rows; its count is never taken from another
day. `notes()` names those feeds so that the build reports them.

A feed without stop_times.txt, trips.txt or a calendar is still read for its stops (station
locations are useful on their own), but its departures cannot be counted: `feeds` says so
(departures_status `missing_files`, with the files missing) and it has no stop_departures
rows; a vintage where no feed can be counted has no stop_departures entity at all. A feed
that cannot be read (not a zip, no stops.txt, a required column missing, not UTF-8) refuses
the whole vintage, naming the feed file and the problem.
stop_times.txt can be huge: it is read by DuckDB from the extracted archive, never loaded
into Python.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from pipelines.quality import NUMBER_REGEX
from pipelines.sources.archives import extract_archive
from pipelines.sources.errors import ArchiveError
from pipelines.sources.readers.common import IncompleteVintage, ParseError, describe, read_csv_text
from pipelines.sources.transport_feeds import reference_date

SOURCE = "transport_gtfs"
log = logging.getLogger(__name__)

FEED_COLUMNS = (
    "feed_id", "file_sha256", "agency_names", "start_date", "end_date", "validity_source", "reference_date",
    "trips_on_reference_date", "departures_status", "missing_files",
)  # fmt: skip
STOP_COLUMNS = ("feed_id", "stop_id", "stop_name", "stop_lat", "stop_lon", "location_type", "parent_station")
DEPARTURE_COLUMNS = ("feed_id", "stop_id", "reference_date", "departures")
REQUIRED_STOP_COLUMNS = ("stop_id", "stop_name", "stop_lat", "stop_lon")
LOCATION_TYPES = ("0", "1", "2", "3", "4")

# Columns the departure count reads, per GTFS file; other columns are ignored.
SCHEDULE_COLUMNS = {
    "trips.txt": ("trip_id", "service_id"),
    "stop_times.txt": ("trip_id", "stop_id", "stop_sequence"),
    "calendar.txt": (
        "service_id", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
        "start_date", "end_date",
    ),
    "calendar_dates.txt": ("service_id", "date", "exception_type"),
    "frequencies.txt": ("trip_id", "start_time", "end_time", "headway_secs"),
}  # fmt: skip
OPTIONAL_SCHEDULE_COLUMNS = {"stop_times.txt": ("pickup_type",)}


def read(files: Sequence[Path], vintage: str, source: str = SOURCE) -> dict[str, tuple[pl.DataFrame, Path]]:
    """Feeds, stops and departures per stop of every GTFS zip of the vintage."""
    feeds_zip = [path for path in files if path.name.lower().endswith(".zip")]
    if not feeds_zip:
        names = ", ".join(p.name for p in files) or "no file"
        raise IncompleteVintage(f"{source} {vintage}: no GTFS zip among the snapshot files ({names})")
    try:
        wanted = reference_date(vintage)
    except ValueError as exc:
        raise ParseError(str(exc)) from None
    feeds, stops, departures = [], [], []
    for path in feeds_zip:
        feed, feed_stops, feed_departures = read_feed(path, wanted, describe(source, vintage, path))
        feeds.append(feed)
        stops.append(feed_stops)
        departures.append(feed_departures)
    # An entity has one file in the raw loads: the newest feed; rows carry their feed_id, and
    # `feeds` each feed's file_sha256. Each feed is checked on its own, so messages name it.
    newest = feeds_zip[0]
    entities = {"feeds": (pl.concat(feeds), newest), "stops": (pl.concat(stops), newest)}
    counted = pl.concat(departures)
    # Validation refuses empty entities: without any stop_times.txt there is no departure entity.
    if counted.height:
        entities["stop_departures"] = (counted, newest)
    return entities


def read_feed(path: Path, wanted: date, where: str) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(feeds row, stops, stop departures) of one GTFS zip, departures counted near `wanted`."""
    feed_id = path.name[: -len(".zip")]
    with tempfile.TemporaryDirectory(prefix="gtfs-") as tmp:
        try:
            extracted = extract_archive(path, Path(tmp) / "feed")
        except ArchiveError as exc:
            raise ParseError(f"{where}: not a readable GTFS zip ({exc.detail})") from None
        members = _members(extracted)
        if "stops.txt" not in members:
            raise ParseError(f"{where}: the zip has no stops.txt; is it a GTFS feed?")
        stops = _read_stops(members["stops.txt"], feed_id, f"{where} stops.txt")
        agencies = _agency_names(members.get("agency.txt"), f"{where} agency.txt")
        feed_info = _feed_info_dates(members.get("feed_info.txt"), f"{where} feed_info.txt")

        missing = [name for name in ("stop_times.txt", "trips.txt") if name not in members]
        if "calendar.txt" not in members and "calendar_dates.txt" not in members:
            missing.append("calendar.txt or calendar_dates.txt")
        feed = {
            "feed_id": feed_id,
            "file_sha256": _sha256(path),
            "agency_names": agencies,
            "missing_files": ", ".join(sorted(missing)) or None,
        }
        if feed_info:
            feed |= {"start_date": feed_info[0], "end_date": feed_info[1], "validity_source": "feed_info"}
        if missing:
            log.warning("%s: %s missing, departures cannot be counted; stops only", where, feed["missing_files"])
            feed["departures_status"] = "missing_files"
            return _feed_frame(feed), stops, _departures_frame([])

        schedule = _count_departures(members, wanted, where)
    if not feed_info and schedule["first_day"]:
        feed |= {
            "start_date": schedule["first_day"],
            "end_date": schedule["last_day"],
            "validity_source": "service_days",
        }
    feed |= {
        "reference_date": schedule["reference_date"],
        "trips_on_reference_date": schedule["trips"],
        "departures_status": "no_service" if schedule.get("no_service") else "counted",
    }
    rows = [{"feed_id": feed_id, "reference_date": schedule["reference_date"], **r} for r in schedule["stops"]]
    return _feed_frame(feed), stops, _departures_frame(rows)


def notes(frames: dict[str, tuple[pl.DataFrame, Path]]) -> list[str]:
    """What the build should say about a vintage: feeds without service that day, feeds not counted."""
    if "feeds" not in frames:
        return []
    feeds = frames["feeds"][0]
    said = []
    idle = feeds.filter(pl.col("departures_status") == "no_service")
    if idle.height:
        day = idle["reference_date"][0]
        said.append(f"no service on {day} for {idle.height} feed(s): {', '.join(sorted(idle['feed_id']))}")
    partial = feeds.filter(pl.col("departures_status") == "missing_files")
    if partial.height:
        said.append(f"departures not counted (files missing) for: {', '.join(sorted(partial['feed_id']))}")
    return said


def _sha256(path: Path) -> str:
    """The feed file's hash: raw rows record one snapshot per entity, `feeds` keeps each feed's."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _members(extracted: list[Path]) -> dict[str, Path]:
    """GTFS files by base name (some producers zip them inside a folder); the shallowest wins."""
    found: dict[str, Path] = {}
    for path in sorted(extracted, key=lambda p: len(p.parts), reverse=True):
        if path.stat().st_size > 0:  # an empty optional file is the same as none
            found[path.name.lower()] = path
    return found


def _read_stops(path: Path, feed_id: str, where: str) -> pl.DataFrame:
    frame = read_csv_text(path.read_bytes(), where)
    frame = frame.rename({c: c.strip() for c in frame.columns})
    missing = [c for c in REQUIRED_STOP_COLUMNS if c not in frame.columns]
    if missing:
        raise ParseError(
            f"{where}: column {', '.join(missing)} is missing (columns found: {', '.join(frame.columns)}); "
            "a GTFS stops.txt needs stop_id, stop_name, stop_lat and stop_lon"
        )
    stops = frame.select(
        pl.lit(feed_id).alias("feed_id"),
        *[
            # Quoted empty fields come back as "": keep them as nulls like unquoted ones.
            pl.col(c).str.strip_chars().replace("", None) if c in frame.columns else pl.lit(None, pl.Utf8).alias(c)
            for c in STOP_COLUMNS[1:]
        ],
    )
    _check_stops(stops, where)
    return stops


def _check_stops(stops: pl.DataFrame, where: str) -> None:
    """The catalogue's checks, run feed by feed so that a failure names the right feed file."""
    problems = []
    if stops["stop_id"].null_count():
        problems.append(f"{stops['stop_id'].null_count()} stop(s) have no stop_id")
    repeated = stops.filter(pl.col("stop_id").is_duplicated())["stop_id"].unique(maintain_order=True)
    if repeated.len():
        problems.append(f"stop_id {_examples(repeated)} appear(s) more than once")
    for column in ("stop_lat", "stop_lon"):
        wrong = stops.filter(pl.col(column).is_not_null() & ~pl.col(column).str.contains(NUMBER_REGEX))[column]
        if wrong.len():
            problems.append(f"{column} has {wrong.len()} value(s) that are not plain numbers ({_examples(wrong)})")
    wrong = stops.filter(pl.col("location_type").is_not_null() & ~pl.col("location_type").is_in(LOCATION_TYPES))
    if wrong.height:
        problems.append(f"location_type has values outside 0-4 ({_examples(wrong['location_type'])})")
    if problems:
        raise ParseError(f"{where}: " + "; ".join(problems))


def _examples(values: pl.Series) -> str:
    return ", ".join(repr(v) for v in values.unique(maintain_order=True).head(5).to_list())


def _agency_names(path: Path | None, where: str) -> str | None:
    if path is None:
        return None
    frame = read_csv_text(path.read_bytes(), where)
    if "agency_name" not in frame.columns:
        return None
    names = [n.strip() for n in frame["agency_name"].drop_nulls().to_list() if n.strip()]
    return " | ".join(dict.fromkeys(names)) or None


def _feed_info_dates(path: Path | None, where: str) -> tuple[str, str] | None:
    """(start, end) ISO dates from feed_info.txt, when it gives both."""
    if path is None:
        return None
    frame = read_csv_text(path.read_bytes(), where)
    if frame.height == 0 or not {"feed_start_date", "feed_end_date"} <= set(frame.columns):
        return None
    start, end = (frame[c][0] for c in ("feed_start_date", "feed_end_date"))
    if not start or not end:
        return None
    try:
        return (_iso(start), _iso(end))
    except ValueError:
        raise ParseError(f"{where}: feed_start_date {start!r} or feed_end_date {end!r} is not YYYYMMDD") from None


def _iso(gtfs_date: str) -> str:
    text = gtfs_date.strip()
    return date(int(text[:4]), int(text[4:6]), int(text[6:8])).isoformat()


def _count_departures(members: dict[str, Path], wanted: date, where: str) -> dict:
    """Service days, the reference date and departures per stop, computed in DuckDB."""
    con = duckdb.connect()
    try:
        for name, columns in SCHEDULE_COLUMNS.items():
            _load_table(con, members.get(name), name, columns, f"{where} {name}")
        try:
            return _schedule(con, wanted)
        except duckdb.Error as exc:
            message = str(exc).splitlines()[0]
            raise ParseError(f"{where}: departures cannot be counted from its calendar ({message})") from None
    finally:
        con.close()


def _csv(path: Path) -> str:
    """DuckDB's reader for a GTFS text file: all text; rows missing their trailing commas padded."""
    quoted = str(path).replace("'", "''")
    options = "header = true, delim = ',', quote = '\"', escape = '\"', all_varchar = true, null_padding = true"
    return f"read_csv('{quoted}', {options})"


def _load_table(
    con: duckdb.DuckDBPyConnection, path: Path | None, name: str, columns: tuple[str, ...], where: str
) -> None:
    """A view named after the GTFS file with the columns used (optional ones null when absent).

    An absent file becomes an empty table, so that the SQL below needs no special case.
    """
    table = name.removesuffix(".txt")
    optional = OPTIONAL_SCHEDULE_COLUMNS.get(name, ())
    if path is None:
        con.execute(f"create table {table} ({', '.join(f'{c} varchar' for c in (*columns, *optional))})")
        return
    try:
        header = [row[0] for row in con.execute(f"describe select * from {_csv(path)}").fetchall()]
    except duckdb.Error as exc:
        message = str(exc).splitlines()[0]
        raise ParseError(f"{where}: not a readable comma-separated UTF-8 file ({message})") from None
    missing = [c for c in columns if c not in header]
    if missing:
        raise ParseError(f"{where}: column {', '.join(missing)} is missing (columns found: {', '.join(header)})")
    selected = [f'trim("{c}") as {c}' for c in columns]
    selected += [f'trim("{c}") as {c}' if c in header else f"null::varchar as {c}" for c in optional]
    con.execute(f"create view {table} as select {', '.join(selected)} from {_csv(path)}")


def _schedule(con: duckdb.DuckDBPyConnection, wanted: date) -> dict:
    con.execute(
        """
        create macro gtfs_date(d) as strptime(d, '%Y%m%d')::date;
        create macro gtfs_seconds(t) as
            split_part(t, ':', 1)::integer * 3600
            + split_part(t, ':', 2)::integer * 60
            + split_part(t, ':', 3)::integer;

        -- Every (service, day) on which a service runs: its weekly pattern, plus added days, minus removed ones.
        create table service_days as
        with weekly as (
            select
                service_id,
                day::date as day,
                [monday, tuesday, wednesday, thursday, friday, saturday, sunday] as pattern
            from (
                select *, unnest(generate_series(gtfs_date(start_date), gtfs_date(end_date), interval 1 day)) as day
                from calendar
            )
        )
        (
            select service_id, day from weekly where pattern[isodow(day)] = '1'
            union
            select service_id, gtfs_date(date) from calendar_dates where exception_type = '1'
        )
        except
        select service_id, gtfs_date(date) from calendar_dates where exception_type = '2';

        -- Runs of each trip: one, or one per headway in the windows of frequencies.txt.
        create table trip_runs as
        select t.trip_id, t.service_id, coalesce(f.runs, 1) as runs
        from trips as t
        left join (
            select
                trip_id,
                sum(ceil((gtfs_seconds(end_time) - gtfs_seconds(start_time)) / headway_secs::double))::bigint as runs
            from frequencies
            group by trip_id
        ) as f using (trip_id);

        create table daily_trips as
        select d.day, sum(r.runs) as trips
        from service_days as d
        join trip_runs as r using (service_id)
        group by d.day;
        """
    )
    first_day, last_day = con.execute("select min(day), max(day) from daily_trips").fetchone()
    found = con.execute("select trips from daily_trips where day = $wanted", {"wanted": wanted}).fetchone()
    if found is None:  # no trip on the vintage's day: no service that week, nothing counted
        return {
            "first_day": first_day.isoformat() if first_day else None,
            "last_day": last_day.isoformat() if last_day else None,
            "reference_date": wanted.isoformat(), "trips": "0", "stops": [], "no_service": True,
        }  # fmt: skip
    reference, trips = wanted, found[0]
    rows = con.execute(
        """
        with running as (
            select r.trip_id, r.runs
            from trip_runs as r
            join service_days as d using (service_id)
            where d.day = $reference
        ),
        calls as (
            select
                st.stop_id,
                running.runs,
                coalesce(st.pickup_type, '') = '1' as no_pickup,
                try_cast(st.stop_sequence as integer) as sequence,
                max(try_cast(st.stop_sequence as integer)) over (partition by st.trip_id) as last_sequence
            from stop_times as st
            join running using (trip_id)
        ),
        counted as (
            select stop_id, sum(runs) as departures
            from calls
            where sequence < last_sequence and not no_pickup
            group by stop_id
        )
        select served.stop_id, coalesce(counted.departures, 0)::varchar as departures
        from (select distinct stop_id from stop_times) as served
        left join counted using (stop_id)
        order by served.stop_id
        """,
        {"reference": reference},
    ).fetchall()
    return {
        "first_day": first_day.isoformat(),
        "last_day": last_day.isoformat(),
        "reference_date": reference.isoformat(),
        "trips": str(trips),
        "stops": [{"stop_id": stop_id, "departures": departures} for stop_id, departures in rows],
    }


def _feed_frame(feed: dict) -> pl.DataFrame:
    return pl.DataFrame([{c: feed.get(c) for c in FEED_COLUMNS}], schema={c: pl.Utf8 for c in FEED_COLUMNS})


def _departures_frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={c: pl.Utf8 for c in DEPARTURE_COLUMNS})
