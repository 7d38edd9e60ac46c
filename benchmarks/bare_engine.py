"""The bare engine: the compared indicators computed by DuckDB alone, straight from the mirror's files.

No Dagster, no dbt, no validation, no raw store: a few SQL statements on one in-memory DuckDB
connection (with its spatial extension for the projections), the floor of what this machine
needs for the same numbers. What is computed, and the rules followed, are in
benchmarks/indicators.py. Files read (`<mirror>/<source>/<vintage>/…`, the compared vintages):

* etalab_decoupage: communes.json of the target vintage (geography, code passage, population)
  and its epci.json (EPCI members); communes.json of the vintage whose populations divide the
  GP counts and weigh the distances (int_population_for_year's choice);
* insee_bpe: the detail file (BPE24.parquet; the zipped `;` CSV of the older editions is
  extracted into `work` first), DEPCOM and TYPEQU;
* insee_sirene: StockEtablissement_utf8.parquet (state, activity and commune columns);
* sncf_stations: liste-des-gares.csv (`;`), passenger stations and their WGS84 point;
* commune_locations: communes-france-<year>.csv (`,`), town hall and centre points;
* transport_gtfs: every GTFS zip, extracted into `work` first (the extraction is part of the
  work timed): stops, trips, stop_times, calendar, calendar_dates, frequencies.

`compute(mirror, work)` returns a pyarrow Table with the columns of indicators.COLUMNS. After a
call, `parts` holds the seconds each step took (geography, each indicator, the roll-up).
"""

from __future__ import annotations

import shutil
import time
import zipfile
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pyarrow as pa

from benchmarks.indicators import (
    CAFE_NAF_2025,
    CAFE_NAF_REV2,
    FORMULAS,
    MIN_COVERAGE,
    PROJECTION_ZONES,
    STOP_CELL_METRES,
    SCHEMA,
    WEEKDAYS,
    MirrorFiles,
    gp_typequ,
    gtfs_reference_date,
    mirror_files,
)

# Cells (metres) the nearest station is first looked for in: 3 × 3 around each commune; a
# commune with no station within one cell side looks through its whole zone.
STATION_CELL_METRES = 20_000

# The GTFS files read, with the columns used (null when a feed's file lacks them).
GTFS_FILES = {
    "stops": ("stop_id", "stop_lat", "stop_lon", "location_type"),
    "trips": ("trip_id", "service_id"),
    "stop_times": ("trip_id", "stop_id", "stop_sequence", "pickup_type"),
    "calendar": ("service_id", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "start_date", "end_date"),
    "calendar_dates": ("service_id", "date", "exception_type"),
    "frequencies": ("trip_id", "start_time", "end_time", "headway_secs"),
}  # fmt: skip

parts: dict[str, float] = {}


def compute(mirror: Path, work: Path) -> pa.Table:
    """Every compared row (indicator_id, level, code, vintage, value) from the mirror's files."""
    files = mirror_files(Path(mirror))
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    parts.clear()
    with timed("setup"):
        con = duckdb.connect(config={"temp_directory": str(work / "duckdb_spill"), "preserve_insertion_order": False})
        con.execute("load spatial")
        con.execute(SETUP)
    try:
        with timed("geography"):
            geography(con, files)
        with timed("population"):
            population(con)
        with timed("gp_count"):
            gps(con, files, work)
        with timed("cafe_count"):
            cafes(con, files)
        with timed("dist_station_km"):
            reference_points(con, files)
            station_distances(con, files)
        with timed("transit_departures_per_day"):
            transit(con, files, work)
        with timed("rollup"):
            return rollup(con, files)
    finally:
        con.close()


@contextmanager
def timed(part: str):
    started = time.perf_counter()
    yield
    parts[part] = round(time.perf_counter() - started, 3)


SETUP = """
-- a 5-character commune code: 1001 → 01001; 2A004 and 97411 as they are (macro normalise_commune_code)
create macro commune_code(c) as case
    when c is null or trim(c) = '' then null
    when regexp_matches(trim(c), '^[0-9]{1,5}$') then lpad(trim(c), 5, '0')
    else upper(trim(c))
end;
create macro gtfs_date(d) as strptime(d, '%Y%m%d')::date;
create macro gtfs_seconds(t) as
    split_part(t, ':', 1)::integer * 3600 + split_part(t, ':', 2)::integer * 60 + split_part(t, ':', 3)::integer;
-- the 3 × 3 cells around a cell
create table offsets as select dx.range::integer as dx, dy.range::integer as dy from range(-1, 2) as dx cross join range(-1, 2) as dy;
-- the commune-level numerators and denominators every indicator is rolled up from (rollup_to_levels)
create table parts (indicator_id varchar, commune_code varchar, numerator double, denominator double);
"""


def quoted(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def in_list(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def etalab_communes(path: Path) -> str:
    """An Etalab communes.json as a table: every entry (commune, déléguée, associée, arrondissement)."""
    columns = (
        "{code: 'VARCHAR', type: 'VARCHAR', zone: 'VARCHAR', departement: 'VARCHAR', region: 'VARCHAR', "
        "population: 'BIGINT', anciensCodes: 'VARCHAR[]', chefLieu: 'VARCHAR', commune: 'VARCHAR'}"
    )
    return f"read_json({quoted(path)}, format = 'array', columns = {columns})"


def projected(relation: str) -> str:
    """Rows of `relation` (with longitude, latitude) in a projection zone, with zone, x and y in metres."""
    return "\nunion all\n".join(
        f"""
        select *, '{zone}' as zone, st_x(point) as x, st_y(point) as y
        from (
            select r.*, st_transform(st_point(longitude, latitude), 'EPSG:4326', 'EPSG:{epsg}', always_xy := true) as point
            from ({relation}) as r
            where longitude between {lon[0]} and {lon[1]} and latitude between {lat[0]} and {lat[1]}
        )
        """
        for zone, epsg, lon, lat in PROJECTION_ZONES
    )


# ----------------------------------------------------------------------------- geography


def geography(con: duckdb.DuckDBPyConnection, files: MirrorFiles) -> None:
    """Tables passage (any code → its target commune) and geography (target communes, their levels)."""
    con.execute(f"create table etalab_target as select * from {etalab_communes(files.etalab(files.target_vintage))}")
    # Codes of older geographies → target commune, through the target communes.json alone (see
    # indicators.py): a commune keeps its code; its former codes (anciensCodes), its communes
    # déléguées or associées and the arrondissements of Paris, Lyon and Marseille map to it. A
    # code that is a commune keeps it; otherwise the smallest target code.
    con.execute(
        """
        create table passage as
        with links as (
            select code as old_code, code as commune_code, 'same_code' as link
            from etalab_target where type = 'commune-actuelle'
            union all
            select unnest(anciensCodes), code, 'former_code'
            from etalab_target where type = 'commune-actuelle'
            union all
            select code, chefLieu, 'attached'
            from etalab_target where type in ('commune-deleguee', 'commune-associee')
            union all
            select code, commune, 'arrondissement'
            from etalab_target where type = 'arrondissement-municipal'
        ),
        normalised as (
            select commune_code(old_code) as old_code, commune_code(commune_code) as commune_code, link from links
        )
        select
            old_code,
            arg_min(commune_code, (link <> 'same_code', commune_code)) as commune_code,
            arg_min(link, (link <> 'same_code', commune_code)) as link
        from normalised
        where old_code is not null and commune_code is not null
        group by old_code
        """
    )
    con.execute(
        f"""
        create table geography as
        with members as (
            select code as epci_code, commune_code(unnest(membres).code) as commune_code
            from read_json({quoted(files.etalab(files.target_vintage, "epci"))}, format = 'array',
                           columns = {{code: 'VARCHAR', membres: 'STRUCT(code VARCHAR)[]'}})
        )
        select
            commune_code(c.code) as commune_code,
            m.epci_code,
            c.departement as departement_code,
            c.region as region_code,
            coalesce(c.population, 0)::double as population
        from etalab_target as c
        left join members as m on m.commune_code = commune_code(c.code)
        where c.type = 'commune-actuelle' and c.zone in ('metro', 'drom')
        """
    )


def harmonised(source: str) -> str:
    """SQL summing `source` (old_code, n) onto the target communes: (commune_code, n).

    An arrondissement's rows are dropped when the source also has rows under its city's own
    code (the city's rows are kept, never both); codes unknown to the passage are dropped.
    """
    return f"""
        with mapped as (
            select p.commune_code, p.link, s.n
            from ({source}) as s
            join passage as p on p.old_code = s.old_code
        ),
        listed_whole as (
            select distinct commune_code from mapped where link = 'same_code'
        )
        select commune_code, sum(n)::double as n
        from mapped
        where link <> 'arrondissement' or commune_code not in (select commune_code from listed_whole)
        group by commune_code
    """


def population_for_year(con: duckdb.DuckDBPyConnection, files: MirrorFiles, data_year: int) -> str:
    """A table (commune_code, population) of the legal population dividing data of a year, on the
    target geography (int_population_for_year); returns its name."""
    vintage = files.population_vintage(data_year)
    source = f"""
        select commune_code(code) as old_code, population as n
        from {etalab_communes(files.etalab(vintage))}
        where type = 'commune-actuelle' and population is not null
    """
    name = f"population_{vintage}"
    con.execute(f"create table if not exists {name} as select commune_code, n as population from ({harmonised(source)})")
    return name


# ----------------------------------------------------------------------------- indicators


def population(con: duckdb.DuckDBPyConnection) -> None:
    """population: the target vintage's legal population of each commune (none when the file has none)."""
    source = "select commune_code(code) as old_code, population as n from etalab_target where type = 'commune-actuelle' and population is not null"
    con.execute(f"insert into parts select 'population', commune_code, n, null from ({harmonised(source)})")


def gps(con: duckdb.DuckDBPyConnection, files: MirrorFiles, work: Path) -> None:
    """gp_count (every commune, 0 without a GP) and gp_per_10k (communes with a population)."""
    vintage = files.vintages["gp_count"]
    source = f"""
        select commune_code(DEPCOM) as old_code, 1 as n
        from {bpe_table(files.bpe_detail, work)}
        where upper(trim(TYPEQU)) = '{gp_typequ(vintage)}'
    """
    con.execute(f"create table gp as {harmonised(source)}")
    con.execute(
        """
        insert into parts
        select 'gp_count', g.commune_code, coalesce(gp.n, 0), null
        from geography as g left join gp using (commune_code)
        """
    )
    people = population_for_year(con, files, int(vintage[:4]))
    con.execute(
        f"""
        insert into parts
        select 'gp_per_10k', g.commune_code, coalesce(gp.n, 0), p.population
        from geography as g
        join {people} as p using (commune_code)
        left join gp using (commune_code)
        """
    )


def bpe_table(path: Path, work: Path) -> str:
    """The BPE detail file as a table: the Parquet, or the largest CSV of the zip, extracted first."""
    if path.suffix.lower() == ".parquet":
        return f"read_parquet({quoted(path)})"
    if path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path) as archive:
            member = max((i for i in archive.infolist() if i.filename.lower().endswith(".csv")), key=lambda i: i.file_size)
            path = Path(archive.extract(member, work / "bpe"))
    return f"read_csv({quoted(path)}, delim = ';', header = true, all_varchar = true)"


def cafes(con: duckdb.DuckDBPyConnection, files: MirrorFiles) -> None:
    """cafe_count: active cafés and bars per commune (0 without one, communes with a population)."""
    stock = files.sirene_stock
    columns = {row[0] for row in con.execute(f"describe select * from read_parquet({quoted(stock)})").fetchall()}
    naf25 = (
        f"or activitePrincipaleNAF25Etablissement in ({in_list(CAFE_NAF_2025)})"
        if "activitePrincipaleNAF25Etablissement" in columns
        else ""
    )
    source = f"""
        select commune_code(codeCommuneEtablissement) as old_code, 1 as n
        from read_parquet({quoted(stock)})
        where etatAdministratifEtablissement = 'A'
          and (
              (nomenclatureActivitePrincipaleEtablissement = 'NAFRev2' and activitePrincipaleEtablissement in ({in_list(CAFE_NAF_REV2)}))
              {naf25}
              or (nomenclatureActivitePrincipaleEtablissement <> 'NAFRev2' and activitePrincipaleEtablissement in ({in_list(CAFE_NAF_2025)}))
          )
    """
    con.execute(f"create table cafes as {harmonised(source)}")
    people = population_for_year(con, files, int(files.vintages["cafe_count"][:4]))
    con.execute(
        f"""
        insert into parts
        select 'cafe_count', g.commune_code, coalesce(c.n, 0), null
        from geography as g
        join {people} as p using (commune_code)
        left join cafes as c using (commune_code)
        """
    )


def reference_points(con: duckdb.DuckDBPyConnection, files: MirrorFiles) -> None:
    """Table reference_points: each target commune's town hall (else centre), projected in its zone.

    A target commune missing from the locations file takes the point of a code that maps to it
    (the smallest); the warehouse takes any of them (int_commune_reference_points).
    """
    con.execute(
        f"""
        create table reference_points as
        with locations as (
            select
                commune_code(code_insee) as code,
                coalesce(try_cast(longitude_mairie as double), try_cast(longitude_centre as double)) as longitude,
                coalesce(try_cast(latitude_mairie as double), try_cast(latitude_centre as double)) as latitude
            from read_csv({quoted(files.locations)}, delim = ',', header = true, all_varchar = true)
            where coalesce(typecom, 'COM') in ('COM', 'commune-actuelle')
        ),
        mapped as (
            select
                p.commune_code,
                arg_min(l.longitude, (l.code <> p.commune_code, l.code)) as longitude,
                arg_min(l.latitude, (l.code <> p.commune_code, l.code)) as latitude
            from locations as l
            join passage as p on p.old_code = l.code
            where l.longitude is not null and l.latitude is not null
            group by p.commune_code
        )
        {projected("select m.* from mapped as m join geography using (commune_code)")}
        """
    )


def station_distances(con: duckdb.DuckDBPyConnection, files: MirrorFiles) -> None:
    """dist_station_km: from each reference point to the nearest passenger station of its zone.

    Looked for in the 3 × 3 cells around the commune: a station found within one cell side is
    the nearest (anything outside the block is farther); the others search their whole zone.
    """
    cell = STATION_CELL_METRES
    con.execute(
        f"""
        create table stations as
        {projected(f'''
            select try_cast(X_WGS84 as double) as longitude, try_cast(Y_WGS84 as double) as latitude
            from read_csv({quoted(files.stations)}, delim = ';', header = true, all_varchar = true)
            where VOYAGEURS = 'O'
        ''')}
        """
    )
    con.execute(
        f"""
        create table station_distance as
        with probes as (
            select c.commune_code, c.zone, c.x, c.y,
                   floor(c.x / {cell})::integer + o.dx as cx, floor(c.y / {cell})::integer + o.dy as cy
            from reference_points as c cross join offsets as o
        ),
        cells as (
            select zone, x, y, floor(x / {cell})::integer as cx, floor(y / {cell})::integer as cy from stations
        ),
        near as materialized (
            select p.commune_code, min(sqrt((p.x - s.x) ^ 2 + (p.y - s.y) ^ 2)) as distance_m
            from probes as p
            join cells as s on s.zone = p.zone and s.cx = p.cx and s.cy = p.cy
            group by p.commune_code
            having min(sqrt((p.x - s.x) ^ 2 + (p.y - s.y) ^ 2)) <= {cell}
        ),
        far as (
            select c.commune_code, min(sqrt((c.x - s.x) ^ 2 + (c.y - s.y) ^ 2)) as distance_m
            from (select * from reference_points anti join near using (commune_code)) as c
            join stations as s on s.zone = c.zone
            group by c.commune_code
        )
        select * from near union all select * from far
        """
    )
    people = population_for_year(con, files, int(files.vintages["dist_station_km"][:4]))
    con.execute(
        f"""
        insert into parts
        select 'dist_station_km', d.commune_code, d.distance_m / 1000.0 * p.population, p.population
        from station_distance as d
        join {people} as p using (commune_code)
        """
    )


def transit(con: duckdb.DuckDBPyConnection, files: MirrorFiles, work: Path) -> None:
    """transit_departures_per_day: departures on the reference day at the stops located in each commune."""
    found, missing = extract_feeds(files.gtfs_feeds, work / "gtfs")
    for name, columns in GTFS_FILES.items():
        gtfs_table(con, name, columns, found[name])
    con.execute(
        "create table feeds_not_counted as select unnest(?::varchar[]) as feed_id",
        [missing],
    )
    day = gtfs_reference_date(files.vintages["transit_departures_per_day"])
    weekday = WEEKDAYS[day.weekday()]
    con.execute(
        f"""
        -- services running on the day: their weekly pattern, plus added days, minus removed ones
        create table running_services as
        (
            select feed_id, service_id from calendar
            where gtfs_date(start_date) <= '{day}' and gtfs_date(end_date) >= '{day}' and {weekday} = '1'
            union
            select feed_id, service_id from calendar_dates where gtfs_date(date) = '{day}' and exception_type = '1'
        )
        except
        select feed_id, service_id from calendar_dates where gtfs_date(date) = '{day}' and exception_type = '2';

        -- trips running that day; a frequency-based trip runs once per headway of its windows
        create table running_trips as
        select t.feed_id, t.trip_id, coalesce(f.runs, 1) as runs
        from trips as t
        join running_services as s using (feed_id, service_id)
        left join (
            select feed_id, trip_id,
                   sum(ceil((gtfs_seconds(end_time) - gtfs_seconds(start_time)) / headway_secs::double))::bigint as runs
            from frequencies
            group by all
        ) as f using (feed_id, trip_id);

        -- departures: every call of a running trip but its last one and those without pick-up
        create table stop_departures as
        with calls as (
            select
                st.feed_id, st.stop_id, r.runs,
                coalesce(st.pickup_type, '') = '1' as no_pickup,
                try_cast(st.stop_sequence as integer) as sequence,
                max(try_cast(st.stop_sequence as integer)) over (partition by st.feed_id, st.trip_id) as last_sequence
            from stop_times as st
            join running_trips as r using (feed_id, trip_id)
        )
        select feed_id, stop_id, sum(runs) as departures
        from calls
        where sequence < last_sequence and not no_pickup
        group by all;

        -- stops (not stations) with a point, placed at the nearest town hall of the 3 × 3 cells around them
        create table stops_located as
        with located_stops as (
            {projected('''
                select feed_id, nullif(stop_id, '') as stop_id,
                       try_cast(nullif(stop_lon, '') as double) as longitude,
                       try_cast(nullif(stop_lat, '') as double) as latitude
                from stops
                where coalesce(try_cast(nullif(location_type, '') as integer), 0) = 0
            ''')}
        ),
        probes as (
            select s.feed_id, s.stop_id, s.zone, s.x, s.y,
                   floor(s.x / {STOP_CELL_METRES})::integer + o.dx as cx,
                   floor(s.y / {STOP_CELL_METRES})::integer + o.dy as cy
            from located_stops as s cross join offsets as o
        ),
        town_halls as (
            select commune_code, zone, x, y,
                   floor(x / {STOP_CELL_METRES})::integer as cx, floor(y / {STOP_CELL_METRES})::integer as cy
            from reference_points
        )
        select s.feed_id, s.stop_id, arg_min(c.commune_code, (s.x - c.x) ^ 2 + (s.y - c.y) ^ 2) as commune_code
        from probes as s
        join town_halls as c on c.zone = s.zone and c.cx = s.cx and c.cy = s.cy
        group by all;

        -- a commune with a stop of a feed whose departures cannot be counted has no value
        insert into parts
        with per_commune as (
            select
                l.commune_code,
                case when bool_or(n.feed_id is not null) then null else sum(coalesce(d.departures, 0)) end as departures
            from stops_located as l
            left join stop_departures as d using (feed_id, stop_id)
            left join feeds_not_counted as n using (feed_id)
            group by l.commune_code
        )
        select 'transit_departures_per_day', g.commune_code, case when c.commune_code is null then 0 else c.departures end, null
        from geography as g left join per_commune as c using (commune_code);
        """
    )


def extract_feeds(feeds: list[Path], root: Path) -> tuple[dict[str, dict[str, Path]], list[str]]:
    """Each GTFS zip extracted into root/<feed id>/: {file: {feed id: path}} and the feeds whose
    departures cannot be counted (stop_times.txt, trips.txt or a calendar missing).

    A file is found by its name wherever it sits in the zip (the shallowest copy); an empty
    file is as good as none.
    """
    shutil.rmtree(root, ignore_errors=True)
    found: dict[str, dict[str, Path]] = {name: {} for name in GTFS_FILES}
    missing = []
    for zip_path in feeds:
        feed_id = zip_path.name[: -len(".zip")]
        with zipfile.ZipFile(zip_path) as archive:
            archive.extractall(root / feed_id)
        files = sorted((p for p in (root / feed_id).rglob("*.txt") if p.stat().st_size > 0), key=lambda p: -len(p.parts))
        by_name = {p.name.lower(): p for p in files}  # the shallowest last, so it wins
        for name in GTFS_FILES:
            if f"{name}.txt" in by_name:
                found[name][feed_id] = by_name[f"{name}.txt"]
        has_calendar = "calendar.txt" in by_name or "calendar_dates.txt" in by_name
        if "stop_times.txt" not in by_name or "trips.txt" not in by_name or not has_calendar:
            missing.append(feed_id)
    return found, missing


def gtfs_table(con: duckdb.DuckDBPyConnection, name: str, columns: tuple[str, ...], paths: dict[str, Path]) -> None:
    """A view of one GTFS file over every feed: feed_id and the columns, trimmed, as text (null
    when a feed's file lacks them); rows missing trailing commas are padded, as the reader does."""
    if not paths:
        con.execute(f"create table {name} (feed_id varchar, {', '.join(f'{c} varchar' for c in columns)})")
        return
    reads = []
    for feed_id, path in paths.items():  # one read per feed: their columns differ
        reader = (
            f"read_csv({quoted(path)}, header = true, delim = ',', quote = '\"', escape = '\"', "
            "all_varchar = true, null_padding = true)"
        )
        present = {row[0] for row in con.execute(f"describe select * from {reader}").fetchall()}
        selected = [f'trim("{c}") as {c}' if c in present else f"null::varchar as {c}" for c in columns]
        feed = feed_id.replace("'", "''")
        reads.append(f"select '{feed}' as feed_id, {', '.join(selected)} from {reader}")
    con.execute(f"create view {name} as " + " union all ".join(reads))


# ----------------------------------------------------------------------------- levels


def rollup(con: duckdb.DuckDBPyConnection, files: MirrorFiles) -> pa.Table:
    """Every level's value from the commune parts (rollup_to_levels): sums over the communes whose
    value is known, the formula applied to them, no value below MIN_COVERAGE of the population."""
    definitions = ", ".join(f"('{i}', '{f}', '{files.vintages[i]}')" for i, f in FORMULAS.items())
    areas = """[
        {'level': 'commune', 'code': commune_code},
        {'level': 'epci', 'code': epci_code},
        {'level': 'departement', 'code': departement_code},
        {'level': 'region', 'code': region_code},
        {'level': 'france', 'code': 'FR'}
    ]"""
    return con.execute(
        f"""
        with definitions as (
            select * from (values {definitions}) as d (indicator_id, formula, vintage)
        ),
        known as (
            select
                p.indicator_id, p.numerator, p.denominator, g.population, unnest({areas}) as area,
                case when d.formula = 'sum' then p.numerator is not null
                     else p.numerator is not null and p.denominator is not null end as is_known
            from parts as p
            join geography as g using (commune_code)
            join definitions as d using (indicator_id)
        ),
        summed as (
            select
                indicator_id, area.level as level, area.code as code,
                sum(numerator) filter (where is_known) as numerator,
                sum(denominator) filter (where is_known) as denominator,
                sum(population) filter (where is_known) as known_population
            from known
            where area.code is not null
            group by all
        ),
        area_population as (
            select area.level as level, area.code as code, sum(population) as population
            from (select population, unnest({areas}) as area from geography)
            where area.code is not null
            group by all
        ),
        valued as (
            select
                s.indicator_id, s.level, s.code, d.vintage,
                case d.formula
                    when 'sum' then s.numerator
                    when 'per_10k' then 10000.0 * s.numerator / nullif(s.denominator, 0)
                    when 'weighted_mean' then s.numerator / nullif(s.denominator, 0)
                end::double as value
            from summed as s
            join area_population as a using (level, code)
            join definitions as d using (indicator_id)
            where s.level = 'commune' or coalesce(s.known_population / nullif(a.population, 0), 0) >= {MIN_COVERAGE}
        )
        select indicator_id, level, code, vintage, value
        from valued
        where value is not null
        order by all
        """
    ).to_arrow_table().cast(SCHEMA)
