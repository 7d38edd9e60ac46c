"""The pandas baseline: the compared indicators the way an analyst would compute them with pandas and numpy.

Files are read with pandas (read_json, read_csv, read_parquet; zipfile opens the zips, which are
read in place: nothing is extracted, `work` is unused), then filtered, merged and grouped with
vectorised pandas and numpy (the only Python loops run over zones, feeds and blocks of rows); no
DuckDB, no polars (pyarrow only tells which columns the Sirene Parquet has). What is computed, and the rules followed, are in benchmarks/indicators.py.
Files read (`<mirror>/<source>/<vintage>/…`, the compared vintages):

* etalab_decoupage: communes.json of the target vintage (geography, code passage, population)
  and its epci.json (EPCI members); communes.json of the vintage whose populations divide the
  GP counts and weigh the distances (int_population_for_year's choice);
* insee_bpe: the detail file (BPE24.parquet, or the zipped `;` CSV of the older editions),
  DEPCOM and TYPEQU only;
* insee_sirene: StockEtablissement_utf8.parquet, only the five columns the café count needs (as
  an analyst would read it: all 40 million rows, about 4 GB in pandas), filtered in pandas;
* sncf_stations: liste-des-gares.csv (`;`), passenger stations and their WGS84 point;
* commune_locations: communes-france-<year>.csv (`,`), town hall and centre points;
* transport_gtfs: every GTFS zip: stops, trips, stop_times, calendar, calendar_dates, frequencies.

Distances and the placing of stops are measured in each zone's projection, as in the warehouse:
the projections (Lambert-93 and the four overseas UTM zones, all on GRS80) are written out below
with numpy (conformal conic, and Krüger's series for the transverse Mercator, as PROJ computes
them): they agree with DuckDB's st_transform within 10 nm, so that each stop is placed at the same
town hall and distances agree to about 1e-11 relative. A plain haversine would not do for the
stops: a stop almost as near to two town halls could go to the other one, and the counts would
differ.

Text numbers are parsed with `astype(float)` (correctly rounded, like DuckDB), not
pd.to_numeric (which can be one unit in the last place off for long decimals).

`compute(mirror, work)` returns a pandas DataFrame with the columns of indicators.COLUMNS.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.indicators import (
    CAFE_NAF_2025,
    CAFE_NAF_REV2,
    COLUMNS,
    FORMULAS,
    LEVELS,
    MIN_COVERAGE,
    PROJECTION_ZONES,
    STOP_CELL_METRES,
    WEEKDAYS,
    MirrorFiles,
    gp_typequ,
    gtfs_reference_date,
    mirror_files,
)

# Communes compared with all the stations of their zone at a time (bounds the memory).
DISTANCE_CHUNK = 2_000
# Stops placed at a time (each looks at the town halls of 9 cells: bounds the memory).
STOP_CHUNK = 50_000
GTFS_FILES = {
    "stops": ("stop_id", "stop_lat", "stop_lon", "location_type"),
    "trips": ("trip_id", "service_id"),
    "stop_times": ("trip_id", "stop_id", "stop_sequence", "pickup_type"),
    "calendar": ("service_id", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "start_date", "end_date"),
    "calendar_dates": ("service_id", "date", "exception_type"),
    "frequencies": ("trip_id", "start_time", "end_time", "headway_secs"),
}  # fmt: skip


def compute(mirror: Path, work: Path) -> pd.DataFrame:
    """Every compared row (indicator_id, level, code, vintage, value) from the mirror's files."""
    files = mirror_files(Path(mirror))
    target = read_etalab_communes(files.etalab(files.target_vintage))
    passage = code_passage(target)
    geo = geography(target, files)
    populations = PopulationsForYear(files, passage)
    points = reference_points(files, passage, geo)
    parts = pd.concat(
        [
            population_parts(target, passage),
            gp_parts(files, passage, geo, populations),
            cafe_parts(files, passage, geo, populations),
            distance_parts(files, points, populations),
            transit_parts(files, geo, points),
        ],
        ignore_index=True,
    )
    return rollup(parts, geo, files)


# ----------------------------------------------------------------------------- reading helpers


def commune_code(codes: pd.Series) -> pd.Series:
    """5-character commune codes: 1001 → 01001; 2A004 and 97411 as they are; blank → missing."""
    text = codes.astype(object).where(codes.notna()).str.strip()
    text = text.where(text != "")
    digits = text.str.fullmatch(r"[0-9]{1,5}", na=False).astype(bool)
    return text.where(~digits, text.str.zfill(5)).str.upper()


def to_double(text: pd.Series) -> pd.Series:
    """Text → float, NaN when not a number; correctly rounded (astype(float)), like DuckDB."""
    valid = pd.to_numeric(text, errors="coerce").notna()
    return text.where(valid).astype(float)


def read_etalab_communes(path: Path) -> pd.DataFrame:
    """An Etalab communes.json: every entry (commune, déléguée, associée, arrondissement)."""
    frame = pd.read_json(path, dtype=False, convert_dates=False)
    for column in ("anciensCodes", "chefLieu", "commune", "population", "zone"):
        if column not in frame.columns:
            frame[column] = None
    frame["population"] = pd.to_numeric(frame["population"])
    return frame


def read_text_csv(source, columns, separator: str = ",", name=str.strip) -> pd.DataFrame:
    """A delimited file, every column as text (codes keep their zeros), empty fields missing.

    Only `columns` are read (those the file has, once its names go through `name`); the
    others come back empty.
    """
    wanted = set(columns)
    frame = pd.read_csv(source, sep=separator, dtype=str, keep_default_na=False, na_values=[""], usecols=lambda c: name(c) in wanted)
    frame.columns = [name(c) for c in frame.columns]
    return frame.reindex(columns=list(columns)).astype(object)  # an absent column: all missing, still text


# ----------------------------------------------------------------------------- geography


def code_passage(target: pd.DataFrame) -> pd.DataFrame:
    """Any code of an older geography → its target commune (old_code, commune_code, link).

    Through the target communes.json alone (see indicators.py): a commune keeps its code; its
    former codes (anciensCodes), its communes déléguées or associées and the arrondissements
    of Paris, Lyon and Marseille map to it. A code that is a commune keeps it; otherwise the
    smallest target code.
    """
    actuelles = target[target["type"] == "commune-actuelle"]
    attached = target[target["type"].isin(["commune-deleguee", "commune-associee"])]
    arrondissements = target[target["type"] == "arrondissement-municipal"]
    former = actuelles[["code", "anciensCodes"]].explode("anciensCodes")
    links = pd.concat(
        [
            pd.DataFrame({"old_code": actuelles["code"], "commune_code": actuelles["code"], "link": "same_code"}),
            pd.DataFrame({"old_code": former["anciensCodes"], "commune_code": former["code"], "link": "former_code"}),
            pd.DataFrame({"old_code": attached["code"], "commune_code": attached["chefLieu"], "link": "attached"}),
            pd.DataFrame({"old_code": arrondissements["code"], "commune_code": arrondissements["commune"], "link": "arrondissement"}),
        ],
        ignore_index=True,
    )
    links["old_code"] = commune_code(links["old_code"])
    links["commune_code"] = commune_code(links["commune_code"])
    links = links.dropna(subset=["old_code", "commune_code"])
    links["rank"] = links["link"] != "same_code"
    links = links.sort_values(["old_code", "rank", "commune_code"]).drop_duplicates("old_code")
    return links[["old_code", "commune_code", "link"]].reset_index(drop=True)


def geography(target: pd.DataFrame, files: MirrorFiles) -> pd.DataFrame:
    """The target communes of metropolitan France and the DROM: commune_code, epci_code,
    departement_code, region_code, population (0 when unknown)."""
    communes = target[(target["type"] == "commune-actuelle") & target["zone"].isin(["metro", "drom"])]
    epci = pd.read_json(files.etalab(files.target_vintage, "epci"), dtype=False, convert_dates=False)
    members = epci[["code", "membres"]].explode("membres").dropna(subset=["membres"])
    members = pd.DataFrame({"epci_code": members["code"], "commune_code": commune_code(members["membres"].str.get("code"))})
    geo = pd.DataFrame(
        {
            "commune_code": commune_code(communes["code"]),
            "departement_code": communes["departement"],
            "region_code": communes["region"],
            "population": communes["population"].fillna(0).astype(float),
        }
    )
    return geo.merge(members, on="commune_code", how="left").reset_index(drop=True)


def harmonised(rows: pd.DataFrame, passage: pd.DataFrame) -> pd.DataFrame:
    """rows (old_code, n) summed onto the target communes: (commune_code, n).

    An arrondissement's rows are dropped when the rows also hold its city's own code (the
    city's rows are kept, never both); codes unknown to the passage are dropped.
    """
    mapped = rows.merge(passage, on="old_code")
    listed_whole = mapped.loc[mapped["link"] == "same_code", "commune_code"].unique()
    kept = mapped[(mapped["link"] != "arrondissement") | ~mapped["commune_code"].isin(listed_whole)]
    return kept.groupby("commune_code", as_index=False)["n"].sum().astype({"n": float})


def counted(codes: pd.Series, passage: pd.DataFrame) -> pd.DataFrame:
    """How many rows each target commune gets from a column of commune codes: (commune_code, n)."""
    per_code = commune_code(codes).value_counts().rename_axis("old_code").reset_index(name="n")
    return harmonised(per_code, passage)


class PopulationsForYear:
    """The legal population dividing data of a year, on the target geography (int_population_for_year)."""

    def __init__(self, files: MirrorFiles, passage: pd.DataFrame):
        self.files, self.passage, self.done = files, passage, {}

    def __call__(self, data_year: int) -> pd.DataFrame:
        """(commune_code, population) of the Etalab vintage chosen for that year."""
        vintage = self.files.population_vintage(data_year)
        if vintage not in self.done:
            communes = read_etalab_communes(self.files.etalab(vintage))
            communes = communes[(communes["type"] == "commune-actuelle") & communes["population"].notna()]
            rows = pd.DataFrame({"old_code": commune_code(communes["code"]), "n": communes["population"]})
            self.done[vintage] = harmonised(rows, self.passage).rename(columns={"n": "population"})
        return self.done[vintage]


# ----------------------------------------------------------------------------- indicators


def parts_frame(indicator_id: str, commune_codes, numerator, denominator=np.nan) -> pd.DataFrame:
    """Commune-level parts of an indicator, as rollup() takes them."""
    return pd.DataFrame(
        {"indicator_id": indicator_id, "commune_code": commune_codes, "numerator": numerator, "denominator": denominator}
    )


def population_parts(target: pd.DataFrame, passage: pd.DataFrame) -> pd.DataFrame:
    """population: the target vintage's legal population of each commune (none when the file has none)."""
    communes = target[(target["type"] == "commune-actuelle") & target["population"].notna()]
    people = harmonised(pd.DataFrame({"old_code": commune_code(communes["code"]), "n": communes["population"]}), passage)
    return parts_frame("population", people["commune_code"], people["n"])


def gp_parts(files: MirrorFiles, passage: pd.DataFrame, geo: pd.DataFrame, populations: PopulationsForYear) -> pd.DataFrame:
    """gp_count (every commune, 0 without a GP) and gp_per_10k (communes with a population)."""
    vintage = files.vintages["gp_count"]
    points = read_bpe_detail(files.bpe_detail)
    gps = points.loc[points["TYPEQU"].str.strip().str.upper() == gp_typequ(vintage), "DEPCOM"]
    per_commune = geo[["commune_code"]].merge(counted(gps, passage), on="commune_code", how="left").fillna({"n": 0.0})
    ratio = per_commune.merge(populations(int(vintage[:4])), on="commune_code")
    return pd.concat(
        [
            parts_frame("gp_count", per_commune["commune_code"], per_commune["n"]),
            parts_frame("gp_per_10k", ratio["commune_code"], ratio["n"], ratio["population"]),
        ]
    )


def read_bpe_detail(path: Path) -> pd.DataFrame:
    """DEPCOM and TYPEQU of every equipment of the BPE detail file (Parquet, or the largest CSV of the zip)."""
    if path.suffix.lower() == ".parquet":
        return pd.read_parquet(path, columns=["DEPCOM", "TYPEQU"])
    if path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path) as archive:
            member = max((i for i in archive.infolist() if i.filename.lower().endswith(".csv")), key=lambda i: i.file_size)
            with archive.open(member) as handle:
                return read_text_csv(handle, ["DEPCOM", "TYPEQU"], separator=";")
    return read_text_csv(path, ["DEPCOM", "TYPEQU"], separator=";")


def cafe_parts(files: MirrorFiles, passage: pd.DataFrame, geo: pd.DataFrame, populations: PopulationsForYear) -> pd.DataFrame:
    """cafe_count: active cafés and bars per commune (0 without one, communes with a population)."""
    import pyarrow.parquet as pq

    stock = files.sirene_stock
    state, nomenclature, activity, naf25, commune = (
        "etatAdministratifEtablissement",
        "nomenclatureActivitePrincipaleEtablissement",
        "activitePrincipaleEtablissement",
        "activitePrincipaleNAF25Etablissement",
        "codeCommuneEtablissement",
    )
    has_naf25 = naf25 in pq.read_schema(stock).names  # in the stocks since December 2025
    # The columns needed, every row (40 million nationally: about 4 GB in pandas).
    rows = pd.read_parquet(stock, columns=[state, nomenclature, activity, commune, *([naf25] if has_naf25 else [])])
    is_cafe = (rows[nomenclature] == "NAFRev2") & rows[activity].isin(CAFE_NAF_REV2)
    is_cafe |= rows[nomenclature].notna() & (rows[nomenclature] != "NAFRev2") & rows[activity].isin(CAFE_NAF_2025)
    if has_naf25:
        is_cafe |= rows[naf25].isin(CAFE_NAF_2025)
    cafes = counted(rows.loc[is_cafe & (rows[state] == "A"), commune], passage)
    frame = geo[["commune_code"]].merge(populations(int(files.vintages["cafe_count"][:4]))[["commune_code"]], on="commune_code")
    frame = frame.merge(cafes, on="commune_code", how="left").fillna({"n": 0.0})
    return parts_frame("cafe_count", frame["commune_code"], frame["n"])


def reference_points(files: MirrorFiles, passage: pd.DataFrame, geo: pd.DataFrame) -> pd.DataFrame:
    """Each target commune's town hall (else its centre), projected in its zone: commune_code, zone, x, y.

    A target commune missing from the locations file takes the point of a code that maps to it
    (the smallest); the warehouse takes any of them (int_commune_reference_points).
    """
    columns = ["code_insee", "typecom", "longitude_mairie", "latitude_mairie", "longitude_centre", "latitude_centre"]
    locations = read_text_csv(files.locations, columns)
    locations = locations[locations["typecom"].fillna("COM").isin(["COM", "commune-actuelle"])]
    points = pd.DataFrame(
        {
            "old_code": commune_code(locations["code_insee"]),
            "longitude": to_double(locations["longitude_mairie"]).fillna(to_double(locations["longitude_centre"])),
            "latitude": to_double(locations["latitude_mairie"]).fillna(to_double(locations["latitude_centre"])),
        }
    ).dropna(subset=["longitude", "latitude"])
    points = points.merge(passage[["old_code", "commune_code"]], on="old_code")
    points["own"] = points["old_code"] == points["commune_code"]
    points = points.sort_values(["commune_code", "own", "old_code"], ascending=[True, False, True]).drop_duplicates("commune_code")
    points = points[points["commune_code"].isin(geo["commune_code"])]
    return projected(points[["commune_code", "longitude", "latitude"]])


def distance_parts(files: MirrorFiles, points: pd.DataFrame, populations: PopulationsForYear) -> pd.DataFrame:
    """dist_station_km: from each reference point to the nearest passenger station of its zone,
    weighted by the commune's population (the level values are population-weighted means)."""
    # the export with field names writes them in lower case: names compared in upper case, as the reader does
    stations = read_text_csv(
        files.stations, ["VOYAGEURS", "X_WGS84", "Y_WGS84"], separator=";", name=lambda c: c.strip().upper().replace(" ", "_")
    )
    stations = stations[stations["VOYAGEURS"] == "O"]
    stations = projected(pd.DataFrame({"longitude": to_double(stations["X_WGS84"]), "latitude": to_double(stations["Y_WGS84"])}))
    nearest = []
    for zone, communes in points.groupby("zone"):  # one zone at a time: stations of other zones do not count
        zone_stations = stations[stations["zone"] == zone]
        if zone_stations.empty:
            continue
        sx, sy = zone_stations["x"].to_numpy(), zone_stations["y"].to_numpy()
        for start in range(0, len(communes), DISTANCE_CHUNK):  # a block of communes × every station
            block = communes.iloc[start : start + DISTANCE_CHUNK]
            dx = block["x"].to_numpy()[:, None] - sx[None, :]
            dy = block["y"].to_numpy()[:, None] - sy[None, :]
            nearest.append(pd.DataFrame({"commune_code": block["commune_code"].to_numpy(), "distance_m": np.sqrt(dx**2 + dy**2).min(axis=1)}))
    distances = pd.concat(nearest, ignore_index=True) if nearest else pd.DataFrame(columns=["commune_code", "distance_m"])
    weighted = distances.merge(populations(int(files.vintages["dist_station_km"][:4])), on="commune_code")
    return parts_frame(
        "dist_station_km", weighted["commune_code"], weighted["distance_m"] / 1000.0 * weighted["population"], weighted["population"]
    )


def transit_parts(files: MirrorFiles, geo: pd.DataFrame, points: pd.DataFrame) -> pd.DataFrame:
    """transit_departures_per_day: departures on the reference day at the stops located in each commune.

    A commune with a stop of a feed whose departures cannot be counted has no value.
    """
    day = gtfs_reference_date(files.vintages["transit_departures_per_day"])
    stops, departures = [], []
    for path in files.gtfs_feeds:  # one feed at a time
        feed_stops, feed_departures = read_feed(path, day)
        stops.append(feed_stops)
        departures.append(feed_departures)
    stops = pd.concat(stops, ignore_index=True)
    departures = pd.concat(departures, ignore_index=True)
    located = locate_stops(stops, points).merge(departures, on=["feed_id", "stop_id"], how="left")
    located["departures"] = located["departures"].fillna(0.0)
    located["unknown"] = ~located["counted"].astype(bool)
    per_commune = located.groupby("commune_code", as_index=False).agg(departures=("departures", "sum"), unknown=("unknown", "any"))
    per_commune["departures"] = per_commune["departures"].mask(per_commune["unknown"])
    frame = geo[["commune_code"]].merge(per_commune[["commune_code", "departures"]], on="commune_code", how="left")
    frame["departures"] = frame["departures"].where(frame["commune_code"].isin(per_commune["commune_code"]), 0.0)
    return parts_frame("transit_departures_per_day", frame["commune_code"], frame["departures"])


def read_feed(path: Path, day) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One GTFS zip: its stops (feed_id, stop_id, longitude, latitude, counted) and the departures
    at each stop on `day` (feed_id, stop_id, departures)."""
    feed_id = path.name[: -len(".zip")]
    with zipfile.ZipFile(path) as archive:
        # every file by its name, wherever it sits in the zip (the shallowest copy); empty ones are none
        members = sorted((i for i in archive.infolist() if i.file_size > 0), key=lambda i: -i.filename.count("/"))
        by_name = {i.filename.rsplit("/", 1)[-1].lower(): i for i in members}

        def table(name: str) -> pd.DataFrame | None:
            if f"{name}.txt" not in by_name:
                return None
            with archive.open(by_name[f"{name}.txt"]) as handle:
                frame = read_text_csv(handle, GTFS_FILES[name])
            return frame.assign(**{column: frame[column].str.strip() for column in frame.columns})

        stops, trips, stop_times = table("stops"), table("trips"), table("stop_times")
        calendar, calendar_dates, frequencies = table("calendar"), table("calendar_dates"), table("frequencies")

    stops = stops.replace("", np.nan)
    stops = stops[to_double(stops["location_type"]).fillna(0) == 0]
    stops = pd.DataFrame(
        {"feed_id": feed_id, "stop_id": stops["stop_id"], "longitude": to_double(stops["stop_lon"]), "latitude": to_double(stops["stop_lat"])}
    ).dropna(subset=["longitude", "latitude"])
    stops["counted"] = stop_times is not None and trips is not None and (calendar is not None or calendar_dates is not None)
    if not stops["counted"].all():
        return stops, pd.DataFrame({"feed_id": [], "stop_id": [], "departures": pd.Series(dtype=float)})

    # services running that day: their weekly pattern, plus added days, minus removed ones
    when = pd.Timestamp(day)
    running = set()
    if calendar is not None:
        starts = pd.to_datetime(calendar["start_date"], format="%Y%m%d")
        ends = pd.to_datetime(calendar["end_date"], format="%Y%m%d")
        running |= set(calendar.loc[(starts <= when) & (ends >= when) & (calendar[WEEKDAYS[day.weekday()]] == "1"), "service_id"])
    if calendar_dates is not None:
        on_day = pd.to_datetime(calendar_dates["date"], format="%Y%m%d") == when
        running |= set(calendar_dates.loc[on_day & (calendar_dates["exception_type"] == "1"), "service_id"])
        running -= set(calendar_dates.loc[on_day & (calendar_dates["exception_type"] == "2"), "service_id"])

    # trips running that day; a frequency-based trip runs once per headway of its windows
    trips = trips[trips["service_id"].isin(running)][["trip_id"]]
    if frequencies is not None and len(frequencies):
        windows = seconds(frequencies["end_time"]) - seconds(frequencies["start_time"])
        frequencies = frequencies.assign(runs=np.ceil(windows / frequencies["headway_secs"].astype(float)))
        trips = trips.merge(frequencies.groupby("trip_id", as_index=False)["runs"].sum(), on="trip_id", how="left")
    trips = trips.assign(runs=trips["runs"].fillna(1.0) if "runs" in trips else 1.0)

    # departures: every call of a running trip but its last one and those without pick-up
    calls = stop_times.merge(trips, on="trip_id")
    calls["sequence"] = to_double(calls["stop_sequence"])
    last = calls.groupby("trip_id")["sequence"].transform("max")
    boarding = (calls["sequence"] < last) & (calls["pickup_type"].fillna("") != "1")
    departures = calls[boarding].groupby("stop_id", as_index=False)["runs"].sum().rename(columns={"runs": "departures"})
    return stops, departures.assign(feed_id=feed_id)


def seconds(times: pd.Series) -> pd.Series:
    """GTFS times (H:MM:SS, past 24:00:00 allowed) in seconds."""
    parts = times.str.split(":", expand=True).astype(int)
    return parts[0] * 3600 + parts[1] * 60 + parts[2]


def locate_stops(stops: pd.DataFrame, points: pd.DataFrame) -> pd.DataFrame:
    """Each stop placed at the nearest town hall among the 3 × 3 cells of STOP_CELL_METRES around it
    (a stop with none there stays unplaced): feed_id, stop_id, counted, commune_code."""
    cell = STOP_CELL_METRES
    town_halls = points.assign(cx=np.floor(points["x"] / cell).astype(int), cy=np.floor(points["y"] / cell).astype(int))
    offsets = pd.DataFrame([(dx, dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1)], columns=["dx", "dy"])
    stops = projected(stops)
    placed = []
    for start in range(0, len(stops), STOP_CHUNK):  # a block of stops at a time
        block = stops.iloc[start : start + STOP_CHUNK].merge(offsets, how="cross")
        block["cx"] = np.floor(block["x"] / cell).astype(int) + block["dx"]
        block["cy"] = np.floor(block["y"] / cell).astype(int) + block["dy"]
        near = block.merge(town_halls, on=["zone", "cx", "cy"], suffixes=("", "_town_hall"))
        near["d2"] = (near["x"] - near["x_town_hall"]) ** 2 + (near["y"] - near["y_town_hall"]) ** 2
        nearest = near.sort_values("d2", kind="stable").drop_duplicates(["feed_id", "stop_id"])
        placed.append(nearest[["feed_id", "stop_id", "counted", "commune_code"]])
    return pd.concat(placed, ignore_index=True)


# ----------------------------------------------------------------------------- projections


def projected(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of `frame` (longitude, latitude) in a projection zone, with zone, x and y in metres."""
    pieces = []
    for zone, epsg, (lon_min, lon_max), (lat_min, lat_max) in PROJECTION_ZONES:
        inside = frame[frame["longitude"].between(lon_min, lon_max) & frame["latitude"].between(lat_min, lat_max)]
        x, y = PROJECTIONS[epsg](inside["longitude"].to_numpy(), inside["latitude"].to_numpy())
        pieces.append(inside.assign(zone=zone, x=x, y=y))
    return pd.concat(pieces, ignore_index=True)


# GRS80, the ellipsoid of RGF93 and of the overseas frames (RGAF09, RGFG95, RGR92, RGM04).
A = 6378137.0
F = 1 / 298.257222101
E = np.sqrt(F * (2 - F))


def _isometric_latitude(phi):
    s = np.sin(phi)
    return np.log(np.tan(np.pi / 4 + phi / 2) * ((1 - E * s) / (1 + E * s)) ** (E / 2))


def lambert_93(lon, lat):
    """EPSG:2154: Lambert conformal conic, standard parallels 49° and 44°, origin 46.5° N 3° E."""
    phi1, phi2, phi0, lambda0 = np.radians([49.0, 44.0, 46.5, 3.0])

    def m(phi):
        return np.cos(phi) / np.sqrt(1 - E**2 * np.sin(phi) ** 2)

    n = (np.log(m(phi1)) - np.log(m(phi2))) / (_isometric_latitude(phi2) - _isometric_latitude(phi1))
    c = A * m(phi1) / n * np.exp(n * _isometric_latitude(phi1))
    r0 = c * np.exp(-n * _isometric_latitude(phi0))
    r = c * np.exp(-n * _isometric_latitude(np.radians(lat)))
    theta = n * (np.radians(lon) - lambda0)
    return 700_000 + r * np.sin(theta), 6_600_000 + r0 - r * np.cos(theta)


def utm(zone_lon0: float, south: bool):
    """A UTM projection (transverse Mercator, scale 0.9996), by Krüger's series to the 6th order of n."""
    n = F / (2 - F)
    k0 = 0.9996
    rectifying_radius = A / (1 + n) * (1 + n**2 / 4 + n**4 / 64 + n**6 / 256)
    alpha = (
        n / 2 - 2 * n**2 / 3 + 5 * n**3 / 16 + 41 * n**4 / 180 - 127 * n**5 / 288 + 7891 * n**6 / 37800,
        13 * n**2 / 48 - 3 * n**3 / 5 + 557 * n**4 / 1440 + 281 * n**5 / 630 - 1983433 * n**6 / 1935360,
        61 * n**3 / 240 - 103 * n**4 / 140 + 15061 * n**5 / 26880 + 167603 * n**6 / 181440,
        49561 * n**4 / 161280 - 179 * n**5 / 168 + 6601661 * n**6 / 7257600,
        34729 * n**5 / 80640 - 3418889 * n**6 / 1995840,
        212378941 * n**6 / 319334400,
    )

    def project(lon, lat):
        phi, lam = np.radians(lat), np.radians(lon - zone_lon0)
        t = np.sinh(np.arctanh(np.sin(phi)) - E * np.arctanh(E * np.sin(phi)))
        xi = np.arctan2(t, np.cos(lam))
        eta = np.arctanh(np.sin(lam) / np.sqrt(1 + t**2))
        x = eta + sum(a * np.cos(2 * j * xi) * np.sinh(2 * j * eta) for j, a in enumerate(alpha, 1))
        y = xi + sum(a * np.sin(2 * j * xi) * np.cosh(2 * j * eta) for j, a in enumerate(alpha, 1))
        return 500_000 + k0 * rectifying_radius * x, (10_000_000 if south else 0) + k0 * rectifying_radius * y

    return project


PROJECTIONS = {
    2154: lambert_93,
    5490: utm(-63.0, south=False),  # RGAF09 / UTM 20N (Guadeloupe, Martinique)
    2972: utm(-51.0, south=False),  # RGFG95 / UTM 22N (Guyane)
    2975: utm(57.0, south=True),  # RGR92 / UTM 40S (La Réunion)
    4471: utm(45.0, south=True),  # RGM04 / UTM 38S (Mayotte)
}


# ----------------------------------------------------------------------------- levels


def rollup(parts: pd.DataFrame, geo: pd.DataFrame, files: MirrorFiles) -> pd.DataFrame:
    """Every level's value from the commune parts (rollup_to_levels): sums over the communes whose
    value is known, the formula applied to them, no value below MIN_COVERAGE of the population."""
    keys = {"commune": "commune_code", "epci": "epci_code", "departement": "departement_code", "region": "region_code"}
    areas = pd.concat(
        [pd.DataFrame({"commune_code": geo["commune_code"], "level": level, "code": geo[keys[level]] if level in keys else "FR"}) for level in LEVELS],
        ignore_index=True,
    ).dropna(subset=["code"])
    area_population = (
        areas.merge(geo[["commune_code", "population"]], on="commune_code")
        .groupby(["level", "code"], as_index=False)["population"].sum()
        .rename(columns={"population": "area_population"})
    )

    parts = parts.merge(geo[["commune_code", "population"]], on="commune_code")
    formula = parts["indicator_id"].map(FORMULAS)
    known = parts["numerator"].notna() & ((formula == "sum") | parts["denominator"].notna())
    parts[["numerator", "denominator", "population"]] = parts[["numerator", "denominator", "population"]].where(known, axis=0)
    summed = (
        parts.merge(areas, on="commune_code")
        .groupby(["indicator_id", "level", "code"])[["numerator", "denominator", "population"]]
        .sum(min_count=1)
        .reset_index()
        .merge(area_population, on=["level", "code"])
    )
    coverage = summed["population"] / summed["area_population"].where(summed["area_population"] != 0)
    covered = (summed["level"] == "commune") | (coverage.fillna(0) >= MIN_COVERAGE)
    formula = summed["indicator_id"].map(FORMULAS)
    denominator = summed["denominator"].where(summed["denominator"] != 0)
    value = np.select(
        [formula == "sum", formula == "per_10k", formula == "weighted_mean"],
        [summed["numerator"], 10000.0 * summed["numerator"] / denominator, summed["numerator"] / denominator],
        default=np.nan,
    )
    result = summed.assign(value=np.where(covered, value, np.nan), vintage=summed["indicator_id"].map(files.vintages))
    result = result[result["value"].notna()]
    return result[list(COLUMNS)].sort_values(list(COLUMNS[:4])).reset_index(drop=True)
