"""Exports for dashboards: the published warehouse as Parquet, CSV, GeoJSON or xlsx files.

Each export is a folder `<out>/<build id>/` holding the files and a `manifest.json` (what
each file holds, its sha256, rows, columns and types, the indicator definitions, the
source snapshots, licences and attribution). A folder is written under a temporary name
and renamed into place when complete; `<out>/latest` is a symlink to the last complete
export (every table, default formats), switched atomically, so a dashboard reading
`latest/` never sees a half-written export. Earlier exports are kept (after each publish,
those of all but the last TERRITOIRES_KEEP_EXPORTS builds are removed); a filtered export
goes to `<build id>-partial` and leaves `latest` alone. A complete export lists the
columns added, removed or retyped since the previous one (`schema_changes`).

Exports read the published warehouse read-only; DuckDB writes the files (COPY … TO).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import duckdb

from pipelines.sources import failpoints
from pipelines.sources.catalogue import load_catalogue
from pipelines.sources.durable import fsync_dir, fsync_file
from pipelines.warehouse.levels import LEVELS, ZONING_LEVELS, area_names_sql

FORMATS = ("parquet", "csv", "geojson", "gpkg", "xlsx")
DEFAULT_FORMATS = ("parquet", "csv", "geojson", "gpkg")
TABLE_FORMATS = ("parquet", "csv", "xlsx")
MANIFEST_VERSION = 1
LATEST = "latest"
# An xlsx sheet holds 1,048,576 rows, the header included.
XLSX_MAX_ROWS = 1_048_575
# Cells a spreadsheet would read as a formula (or that hide one behind a tab or CR).
FORMULA_START = r"^[=+\-@\t\r]"
# The geography tables, by the level they describe.
GEO_TABLES = {
    "commune": ("geo.commune", "geo.commune_passage"),
    "epci": ("geo.epci",),
    "departement": ("geo.departement",),
    "region": ("geo.region",),
    **{level: (f"geo.{level}",) for level in ZONING_LEVELS},
}
GEOJSON_FILE = "communes.geojson"
# The polygons of geo.shapes: one GeoJSON file per level, one GeoPackage layer holding every level.
SHAPES_FOLDER = "shapes"
GEOPACKAGE_FILE = "shapes.gpkg"
REFERENCE_POINTS = "intermediate.int_commune_reference_points"


class ExportError(RuntimeError):
    """The export could not be made; the message says what to do."""


@dataclass(frozen=True)
class CsvStyle:
    """How CSV files are written: UTF-8, `,` or `;`, optional BOM and decimal comma (for Excel)."""

    separator: str = ","
    bom: bool = False
    decimal_comma: bool = False

    def __post_init__(self) -> None:
        if self.separator not in (",", ";"):
            raise ExportError(f"CSV separator must be ',' or ';', not {self.separator!r}")
        if self.decimal_comma and self.separator == ",":
            raise ExportError("a decimal comma needs the ';' separator (--csv-separator ';')")


@dataclass(frozen=True)
class ExportSelection:
    """What goes into an export. No filter at all means everything (the complete export).

    `levels` and `indicators` narrow the indicator and geography tables; `programmes`
    chooses programme tables. A filter of one family leaves the other family out: with
    only `--programme`, an export holds that programme's tables (and the catalogue).
    """

    levels: tuple[str, ...] = ()
    indicators: tuple[str, ...] = ()
    programmes: tuple[str, ...] = ()
    formats: tuple[str, ...] = DEFAULT_FORMATS
    csv: CsvStyle = field(default_factory=CsvStyle)

    def __post_init__(self) -> None:
        unknown = [level for level in self.levels if level not in LEVELS]
        if unknown:
            raise ExportError(f"unknown level {', '.join(unknown)}; levels are {', '.join(LEVELS)}")
        unknown = [fmt for fmt in self.formats if fmt not in FORMATS]
        if unknown or not self.formats:
            raise ExportError(f"unknown or no format {', '.join(unknown)}; formats are {', '.join(FORMATS)}")

    @property
    def has_filter(self) -> bool:
        return bool(self.levels or self.indicators or self.programmes)

    @property
    def is_complete(self) -> bool:
        """Every table in the default formats and CSV style: what `latest` points at."""
        return not self.has_filter and set(self.formats) == set(DEFAULT_FORMATS) and self.csv == CsvStyle()

    @property
    def wants_indicators(self) -> bool:
        return not self.has_filter or bool(self.levels or self.indicators)

    @property
    def wants_programmes(self) -> bool:
        return not self.has_filter or bool(self.programmes)

    def wants_level(self, level: str) -> bool:
        return self.wants_indicators and (not self.levels or level in self.levels)

    def describe(self) -> dict[str, Any]:
        return {
            "levels": list(self.levels), "indicators": list(self.indicators), "programmes": list(self.programmes),
            "formats": list(self.formats), "csv": asdict(self.csv),
        }  # fmt: skip


@dataclass(frozen=True)
class Dataset:
    """One table of the warehouse as exported: the file stem, the source table and its query."""

    stem: str
    table: str
    sql: str


@dataclass(frozen=True)
class ExportReport:
    """A finished export: its folder, its manifest, and whether `latest` now points at it."""

    path: Path
    manifest: dict[str, Any]
    latest: bool

    @property
    def build_id(self) -> str:
        return self.manifest["build_id"]


def _q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _relation_columns(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[str, str]]:
    """(name, DuckDB type) of every column a query returns."""
    relation = con.sql(sql)
    return [(name, str(kind)) for name, kind in zip(relation.columns, relation.types)]


def _records(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    """A small metadata query as a list of dicts (for the manifest)."""
    cursor = con.execute(sql, list(params))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def _has_table(con: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    schema, name = qualified.split(".")
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?", [schema, name]
        ).fetchone()[0]
    )


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


# ------------------------------------------------------------------------- what to export


def _indicator_ids(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [row[0] for row in con.execute("select indicator_id from indicators.catalogue order by 1").fetchall()]


def _in_list(column: str, values: Sequence[str]) -> str:
    quoted = ", ".join("'" + v.replace("'", "''") + "'" for v in values)
    return f"{column} in ({quoted})"


def _commune_wide_columns(con: duckdb.DuckDBPyConnection, indicators: Sequence[str]) -> list[str]:
    """Columns of indicators.commune kept for those indicators (all when none given), identity first."""
    columns = [name for name, _ in _relation_columns(con, "select * from indicators.commune")]
    if not indicators:
        return columns
    all_ids = set(_indicator_ids(con))
    owned = {f"{i}{suffix}" for i in all_ids for suffix in ("", "_vintage", "_label")}
    wanted = {f"{i}{suffix}" for i in indicators for suffix in ("", "_vintage", "_label")}
    return [c for c in columns if c not in owned or c in wanted]


def programme_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The tables of the `programmes` schema (none when the schema does not exist yet)."""
    rows = con.execute(
        "select table_name from information_schema.tables where table_schema = 'programmes' order by 1"
    ).fetchall()
    return [row[0] for row in rows]


def _programme_datasets(con: duckdb.DuckDBPyConnection, programmes: Sequence[str]) -> list[Dataset]:
    """Every programmes table, or those of the chosen programmes plus the shared ones narrowed to them.

    A programme's own tables are named <programme>_…; shared tables (targets, changes,
    rules…) are narrowed by their `programme` column when they have one.
    """
    tables = programme_tables(con)
    known = sorted({t.rsplit("_", 1)[0] for t in tables if t.endswith(("_targets", "_changes"))})
    if programmes:
        if not tables:
            raise ExportError(
                "this warehouse has no programmes schema yet; build the programmes first, "
                "or export without --programme"
            )
        unknown = [p for p in programmes if p not in known]
        if unknown:
            raise ExportError(
                f"unknown programme {', '.join(unknown)}; programmes in this warehouse: {', '.join(known) or 'none'}"
            )
    datasets = []
    for table in tables:
        sql = f"select * from programmes.{_q(table)}"
        owner = next((p for p in known if table.startswith(f"{p}_")), None)
        if programmes and owner is not None and owner not in programmes:
            continue
        if programmes and owner is None:
            columns = [name for name, _ in _relation_columns(con, sql)]
            key = next((c for c in ("programme", "programme_id") if c in columns), None)
            if key:
                sql += " where " + _in_list(_q(key), programmes)
        datasets.append(Dataset(f"programmes_{table}", f"programmes.{table}", sql + " order by all"))
    return datasets


def plan_datasets(con: duckdb.DuckDBPyConnection, selection: ExportSelection) -> list[Dataset]:
    """The tables an export holds for that selection, each as a query on the warehouse."""
    known = set(_indicator_ids(con))
    unknown = [i for i in selection.indicators if i not in known]
    if unknown:
        raise ExportError(
            f"unknown indicator {', '.join(unknown)}; see indicators.catalogue "
            f"(`territoires query \"select indicator_id, label_fr from indicators.catalogue\"`)"
        )
    by_indicator = f" where {_in_list('indicator_id', selection.indicators)}" if selection.indicators else ""
    datasets = [
        Dataset("indicators_catalogue", "indicators.catalogue",
                f"select * from indicators.catalogue{by_indicator} order by indicator_id")
    ]  # fmt: skip
    if selection.wants_indicators:
        datasets.append(
            Dataset("indicators_categories", "indicators.categories",
                    f"select * from indicators.categories{by_indicator} order by all")
        )  # fmt: skip
        filters = [_in_list("indicator_id", selection.indicators)] if selection.indicators else []
        filters += [_in_list("level", selection.levels)] if selection.levels else []
        where = f" where {' and '.join(filters)}" if filters else ""
        datasets.append(
            Dataset("indicators_long", "indicators.long",
                    f"select * from indicators.long{where} order by indicator_id, level, code, vintage")
        )  # fmt: skip
        if selection.wants_level("commune"):
            columns = ", ".join(_q(c) for c in _commune_wide_columns(con, selection.indicators))
            datasets.append(
                Dataset("indicators_commune", "indicators.commune",
                        f"select {columns} from indicators.commune order by commune_code")
            )  # fmt: skip
        existing = {f"{schema}.{name}" for schema, name in con.execute(
            "select table_schema, table_name from information_schema.tables where table_schema = 'geo'"
        ).fetchall()}  # fmt: skip
        for level, tables in GEO_TABLES.items():
            if selection.wants_level(level):
                # a warehouse built before INSEE's levels existed has no geo.<zoning> table
                datasets += [Dataset(t.replace(".", "_"), t, f"select * from {t} order by all") for t in tables if t in existing]
    if selection.wants_programmes:
        datasets += _programme_datasets(con, selection.programmes)
    return datasets


# ------------------------------------------------------------------------------ writers


def _is_text(kind: str) -> bool:
    return kind == "VARCHAR"


def _is_nested(kind: str) -> bool:
    return kind.endswith("]") or kind.startswith(("STRUCT", "MAP", "UNION"))


def _is_fractional(kind: str) -> bool:
    return kind in ("DOUBLE", "FLOAT") or kind.startswith("DECIMAL")


def _csv_select(con: duckdb.DuckDBPyConnection, sql: str, style: CsvStyle) -> str:
    """The query with text cells neutralised (a leading quote before =, +, -, @, tab, CR).

    Only text columns are touched, so negative numbers stay numbers; lists and structs
    become text first, then are neutralised like any text.
    """
    parts = []
    for name, kind in _relation_columns(con, sql):
        column = _q(name)
        if _is_nested(kind):
            column = f"cast({column} as varchar)"
            kind = "VARCHAR"
        if _is_text(kind):
            neutralised = f"case when regexp_matches({column}, '{FORMULA_START}') then '''' || {column} else {column} end"
            parts.append(f"{neutralised} as {_q(name)}")
        elif style.decimal_comma and _is_fractional(kind):
            parts.append(f"replace(cast({column} as varchar), '.', ',') as {_q(name)}")
        else:
            parts.append(_q(name))
    return f"select {', '.join(parts)} from ({sql})"


def _xlsx_select(con: duckdb.DuckDBPyConnection, sql: str) -> str:
    """The query with what a sheet cannot hold turned into text (lists) or doubles (huge integers)."""
    parts = []
    for name, kind in _relation_columns(con, sql):
        if _is_nested(kind):
            parts.append(f"cast({_q(name)} as varchar) as {_q(name)}")
        elif kind in ("HUGEINT", "UHUGEINT"):
            parts.append(f"cast({_q(name)} as double) as {_q(name)}")
        else:
            parts.append(_q(name))
    return f"select {', '.join(parts)} from ({sql})"


def _copy(con: duckdb.DuckDBPyConnection, sql: str, path: Path, options: str) -> int:
    """COPY the query to a file; returns the number of rows written."""
    target = str(path).replace("'", "''")
    return con.execute(f"copy ({sql}) to '{target}' ({options})").fetchone()[0]


def _add_bom(path: Path) -> None:
    """Prefix a file with the UTF-8 byte order mark (Excel then reads it as UTF-8)."""
    with_bom = path.with_name(path.name + ".bom")
    with path.open("rb") as source, with_bom.open("wb") as target:
        target.write(b"\xef\xbb\xbf")
        shutil.copyfileobj(source, target, length=1 << 20)
    os.replace(with_bom, path)


def _write_table(
    con: duckdb.DuckDBPyConnection, dataset: Dataset, fmt: str, folder: Path, style: CsvStyle, rows: int
) -> tuple[Path | None, int, str]:
    """Write one dataset in one format; returns (file, rows, reason it was skipped)."""
    path = folder / f"{dataset.stem}.{fmt}"
    if fmt == "parquet":
        return path, _copy(con, dataset.sql, path, "format parquet, compression zstd"), ""
    if fmt == "csv":
        delimiter = style.separator.replace("'", "''")
        written = _copy(con, _csv_select(con, dataset.sql, style), path, f"format csv, header true, delimiter '{delimiter}'")
        if style.bom:
            _add_bom(path)
        return path, written, ""
    if fmt == "xlsx":
        if rows > XLSX_MAX_ROWS:
            reason = (
                f"{rows:,} rows do not fit in an xlsx sheet (at most {XLSX_MAX_ROWS:,}): "
                "use parquet or csv, or narrow with --level / --indicator"
            )
            return None, rows, reason
        options = f"format xlsx, header true, sheet '{dataset.stem[:31]}'"  # sheet names have at most 31 characters
        return path, _copy(con, _xlsx_select(con, dataset.sql), path, options), ""
    raise ExportError(f"format {fmt} does not apply to tables")


def _geojson_select(con: duckdb.DuckDBPyConnection, selection: ExportSelection) -> tuple[str, list[tuple[str, str]]]:
    """Each commune with its indicators (wide) and its town hall (else centre) as a WGS84 point."""
    kept = set(_commune_wide_columns(con, selection.indicators))
    parts = []
    for name, kind in _relation_columns(con, "select * from indicators.commune"):
        if name not in kept:
            continue
        column = f"c.{_q(name)}"
        if _is_fractional(kind) or kind in ("HUGEINT", "UHUGEINT"):
            # GeoJSON has no NaN: a missing number is null.
            column = f"case when isnan(cast({column} as double)) then null else cast({column} as double) end"
        elif _is_nested(kind):
            column = f"cast({column} as varchar)"
        parts.append(f"{column} as {_q(name)}")
    properties = ", ".join(parts)
    sql = (
        f"select {properties}, p.point_kind, st_point(p.longitude, p.latitude) as geometry "
        f"from indicators.commune as c left join {REFERENCE_POINTS} as p using (commune_code) "
        f"order by c.commune_code"
    )
    columns = [(n, t) for n, t in _relation_columns(con, sql) if n != "geometry"]
    return sql, columns + [("geometry", "POINT (WGS84 lon/lat)")]


def _shapes_select(levels: Sequence[str]) -> str:
    """The polygons of geo.shapes of those levels, each area with its name."""
    names = " union all ".join(f"select '{level}' as level, code, name from ({area_names_sql(level)})" for level in levels)
    return (
        "select s.level, s.code, n.name, s.territory, s.commune_count, s.contour_source, s.contour_vintage, "
        "s.geography_vintage, s.geometry "
        f"from geo.shapes as s left join ({names}) as n using (level, code) "
        f"where {_in_list('s.level', levels)} order by s.level, s.code"
    )


def _write_shapes(con: duckdb.DuckDBPyConnection, folder: Path, selection: ExportSelection) -> tuple[list, list]:
    """shapes/<level>.geojson (format geojson) and shapes.gpkg (format gpkg) from geo.shapes."""
    entry = {"table": "geo.shapes"}
    if not _has_table(con, "geo.shapes"):
        return [], [{**entry, "format": f, "reason": "geo.shapes is missing: rebuild"} for f in ("geojson", "gpkg") if f in selection.formats]
    present = {row[0] for row in con.execute("select distinct level from geo.shapes").fetchall()}
    levels = [level for level in LEVELS if level in present and selection.wants_level(level)]
    if not levels:
        reason = "no selected level has polygons (load etalab_contours)" if present or selection.levels else "geo.shapes is empty: no contour source loaded"
        return [], [{**entry, "format": f, "reason": reason} for f in ("geojson", "gpkg") if f in selection.formats]
    files = []
    columns = [(n, t) for n, t in _relation_columns(con, _shapes_select(levels)) if n != "geometry"]
    columns.append(("geometry", "MULTIPOLYGON (WGS84 lon/lat)"))
    if "geojson" in selection.formats:
        (folder / SHAPES_FOLDER).mkdir(exist_ok=True)
        for level in levels:
            path = folder / SHAPES_FOLDER / f"{level}.geojson"
            options = "format gdal, driver 'GeoJSON', srs 'OGC:CRS84', layer_creation_options 'RFC7946=YES'"
            written = _copy(con, _shapes_select([level]), path, options)
            files.append(_file_entry(folder, path, "geo.shapes", "geojson", written, columns))
            failpoints.reach("exports.file")
    if "gpkg" in selection.formats:
        path = folder / GEOPACKAGE_FILE
        written = _copy(con, _shapes_select(levels), path, "format gdal, driver 'GPKG', srs 'EPSG:4326'")
        files.append(_file_entry(folder, path, "geo.shapes", "gpkg", written, columns))
    return files, []


# ------------------------------------------------------------------------------ manifest


def _source_records(con: duckdb.DuckDBPyConnection) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """(snapshots loaded in this build, licence per source, attribution lines)."""
    snapshots = _records(
        con,
        """
        select distinct l.source, l.vintage, coalesce(s.file_name, l.file_name) as file_name,
               l.snapshot_sha256 as sha256, s.url, s.bytes, s.fetched_at, s.origin
        from meta.raw_load_snapshots as l
        left join meta.source_snapshots as s
          on s.source = l.source and s.vintage = l.vintage and s.sha256 = l.snapshot_sha256
        order by all
        """,
    )
    catalogue = load_catalogue()
    licences, lines = [], []
    for source_id in sorted({s["source"] for s in snapshots}):
        spec = catalogue.get(source_id)
        if spec is None:
            licences.append(
                {"source": source_id, "licence": "unknown: not in the source catalogue", "attribution": source_id}
            )
            continue
        licences.append(
            {"source": source_id, "title": spec.title, "publisher": spec.publisher,
             "licence": spec.licence, "attribution": spec.attribution, "homepage": spec.homepage}
        )  # fmt: skip
        lines.append(f"{spec.attribution} — {spec.licence}")
    return snapshots, licences, lines


def _file_entry(
    folder: Path, path: Path, table: str, fmt: str, rows: int, columns: list[tuple[str, str]]
) -> dict[str, Any]:
    """A file as the manifest lists it: path, source table, format, rows, bytes, sha256, columns and types."""
    return {
        "path": path.relative_to(folder).as_posix(),
        "table": table,
        "format": fmt,
        "rows": rows,
        "bytes": path.stat().st_size,
        "sha256": _sha256(path),
        "columns": [{"name": name, "type": kind} for name, kind in columns],
    }


def schema_changes(previous: dict[str, Any], files: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Files and columns added, removed, retyped or reordered since the previous export's manifest.

    Dashboards rely on names and types: anything but additions breaks one of them.
    """

    def schemas(entries: list[dict[str, Any]]) -> dict[str, list[tuple[str, str]]]:
        return {f["path"]: [(c["name"], c["type"]) for c in f["columns"]] for f in entries}

    before, after = schemas(previous.get("files", [])), schemas(files)
    changes: list[dict[str, Any]] = []
    for path in sorted(before.keys() | after.keys()):
        if path not in after or path not in before:
            changes.append({"path": path, "change": "file removed" if path not in after else "file added"})
            continue
        old, new = dict(before[path]), dict(after[path])
        for column in [c for c, _ in before[path]] + [c for c, _ in after[path] if c not in old]:
            if column not in new:
                changes.append({"path": path, "column": column, "change": "removed", "type": old[column]})
            elif column not in old:
                changes.append({"path": path, "column": column, "change": "added", "type": new[column]})
            elif old[column] != new[column]:
                changes.append({"path": path, "column": column, "change": "retyped", "from": old[column], "to": new[column]})
        common = [c for c, _ in before[path] if c in new]
        if common != [c for c, _ in after[path] if c in old]:
            changes.append({"path": path, "change": "columns reordered"})
    return changes


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest.json of an export folder, or None when it has none (or it is unreadable)."""
    try:
        return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _json_default(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


# ------------------------------------------------------------------------ folder handling


def _free_name(out: Path, base: str) -> str:
    """`base`, or `base.2`, `base.3`… when an export of that name already exists."""
    name, n = base, 1
    while (out / name).exists():
        n += 1
        name = f"{base}.{n}"
    return name


def switch_latest(out: Path, name: str) -> None:
    """Point `<out>/latest` at `<out>/<name>` in one atomic rename of a fresh symlink."""
    link = out / LATEST
    if link.exists() and not link.is_symlink():
        # A copied data home turns the link into a folder: keep that folder aside, then link.
        os.rename(link, out / f"{LATEST}.replaced-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}")
    temporary = out / f".{LATEST}-{uuid.uuid4().hex}"
    os.symlink(name, temporary)  # relative: the exports folder can be moved or mounted elsewhere
    try:
        os.replace(temporary, link)
    except OSError:
        temporary.unlink(missing_ok=True)
        raise
    fsync_dir(out)


def latest_export(out: Path) -> Path | None:
    """The folder `<out>/latest` points at, if any."""
    link = out / LATEST
    return link.resolve() if link.is_dir() else None


# -------------------------------------------------------------------------------- export


def _open_warehouse(warehouse: Path, selection: ExportSelection) -> duckdb.DuckDBPyConnection:
    if not warehouse.exists():
        raise ExportError(f"no published warehouse at {warehouse}; run `territoires build` (or `territoires demo`) first")
    con = duckdb.connect(str(warehouse), read_only=True)
    extensions = (["spatial"] if {"geojson", "gpkg"} & set(selection.formats) else []) + (["excel"] if "xlsx" in selection.formats else [])
    for extension in extensions:
        try:
            con.execute(f"load {extension}")
        except duckdb.Error as exc:
            con.close()
            raise ExportError(
                f"DuckDB's {extension} extension is not installed ({exc}); run `python -m pipelines.warehouse.extensions` "
                "(`make install` does it)"
            ) from None
    return con


def _about(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """The warehouse's meta.about row: build id, build time, sample flag and notice, geography vintage."""
    try:
        rows = _records(con, "select build_id, built_at, sample_data, notice, geography_vintage from meta.about")
    except duckdb.CatalogException:
        rows = []
    if not rows:
        raise ExportError("the warehouse has no meta.about row: it was not published by `territoires build`; rebuild it")
    return rows[0]


def _write_export(
    con: duckdb.DuckDBPyConnection, folder: Path, selection: ExportSelection, previous: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Write every file of the selection and the manifest into `folder`; returns the manifest.

    `previous` is the manifest of the last complete export, whose columns and types this
    one is compared with (`schema_changes`).
    """
    about = _about(con)
    files, skipped = [], []
    for dataset in plan_datasets(con, selection):
        columns = _relation_columns(con, dataset.sql)
        # Counted first only where a format has a row limit; COPY reports the rows it wrote.
        rows = con.execute(f"select count(*) from ({dataset.sql})").fetchone()[0] if "xlsx" in selection.formats else 0
        for fmt in (f for f in selection.formats if f in TABLE_FORMATS):
            path, written, reason = _write_table(con, dataset, fmt, folder, selection.csv, rows)
            if path is None:
                skipped.append({"table": dataset.table, "format": fmt, "reason": reason})
            else:
                files.append(_file_entry(folder, path, dataset.table, fmt, written, columns))
                failpoints.reach("exports.file")
    if "geojson" in selection.formats:
        geojson = {"table": "indicators.commune", "format": "geojson"}
        if not selection.wants_level("commune"):
            skipped.append({**geojson, "reason": "the commune level is not selected"})
        elif not _has_table(con, REFERENCE_POINTS):
            skipped.append({**geojson, "reason": f"{REFERENCE_POINTS} is missing: commune_locations was never built"})
        else:
            sql, columns = _geojson_select(con, selection)
            path = folder / GEOJSON_FILE
            # OGC:CRS84 is WGS84 in lon/lat order (EPSG:4326 would make GDAL write lat/lon).
            options = "format gdal, driver 'GeoJSON', srs 'OGC:CRS84', layer_creation_options 'RFC7946=YES'"
            written = _copy(con, sql, path, options)
            files.append(_file_entry(folder, path, "indicators.commune", "geojson", written, columns))
    if {"geojson", "gpkg"} & set(selection.formats):
        shape_files, shape_skipped = _write_shapes(con, folder, selection)
        files += shape_files
        skipped += shape_skipped
    snapshots, licences, attribution = _source_records(con)
    by_indicator = f"where {_in_list('indicator_id', selection.indicators)}" if selection.indicators else ""
    manifest = {
        "manifest_version": MANIFEST_VERSION,
        "build_id": about["build_id"],
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "built_at": about["built_at"],
        "geography_vintage": about["geography_vintage"],
        "sample_data": bool(about["sample_data"]),
        **({"notice": about["notice"]} if about["sample_data"] else {}),
        "complete": selection.is_complete,
        "selection": selection.describe(),
        "files": files,
        "skipped": skipped,
        "indicators": _records(con, f"select * from indicators.catalogue {by_indicator} order by indicator_id"),
        "source_snapshots": snapshots,
        "licences": licences,
        "attribution": attribution,
        "schema_compared_with": previous["build_id"] if previous else None,
        "schema_changes": schema_changes(previous, files) if previous else [],
    }
    (folder / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2, default=_json_default) + "\n", encoding="utf-8"
    )
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


def export_warehouse(warehouse: Path, out: Path, selection: ExportSelection | None = None) -> ExportReport:
    """Export the published warehouse into `<out>/<build id>/` and, when complete, point `latest` at it.

    The export is written in a temporary folder and renamed into place only once every
    file and the manifest are there; a failure leaves nothing behind and `latest` as it was.
    A partial export (filters, other formats or CSV style) is named `<build id>-partial`.
    """
    selection = selection or ExportSelection()
    with _open_warehouse(warehouse, selection) as con:
        build_id = _about(con)["build_id"]
        plan_datasets(con, selection)  # an unknown indicator or programme is refused before --out is made
        out.mkdir(parents=True, exist_ok=True)
        last = latest_export(out)
        previous = read_manifest(last) if selection.is_complete and last else None
        temporary = out / f".tmp-{build_id}-{uuid.uuid4().hex[:8]}"
        temporary.mkdir()
        try:
            manifest = _write_export(con, temporary, selection, previous)
            for written in temporary.rglob("*"):
                if written.is_file():
                    fsync_file(written)  # every file on the disk before the folder is renamed into place
        except BaseException:
            shutil.rmtree(temporary, ignore_errors=True)
            raise
    base = build_id if selection.is_complete else f"{build_id}-partial"
    while True:
        name = _free_name(out, base)
        try:
            os.rename(temporary, out / name)  # never over an existing export
            fsync_dir(out)
            break
        except OSError as exc:
            if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                shutil.rmtree(temporary, ignore_errors=True)
                raise
    if selection.is_complete:
        failpoints.reach("exports.switch")
        switch_latest(out, name)
    return ExportReport(out / name, manifest, selection.is_complete)
