"""Fetch → snapshot → parse → validate → load, for one source, vintage by vintage.

A vintage is loaded into its raw tables only when every file parsed and every entity
passed its checks; otherwise the rows already loaded for it stay as they were and the
new snapshot is marked invalid, so the next run falls back to the last good one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone

import duckdb
import polars as pl

from pipelines.quality import FrameSpec, ValidationFailed, validate_frame
from pipelines.sources.catalogue import Source
from pipelines.sources.errors import SourceError
from pipelines.sources.fetch import Fetcher, FetchRequest
from pipelines.sources.readers import IncompleteVintage, ParseError, get_reader
from pipelines.sources.snapshots import RawStore, Snapshot
from pipelines.warehouse.meta import ensure_meta_tables

LOADED, UNCHANGED, MISSING, INVALID = "loaded", "unchanged", "missing", "invalid"
SYSTEM_COLUMNS = ("_vintage", "_snapshot_sha256", "_loaded_at")


@dataclass
class VintageOutcome:
    """What happened to one vintage of a source in this run."""

    vintage: str
    status: str
    detail: str = ""
    rows: dict[str, int] = field(default_factory=dict)
    snapshots: list[str] = field(default_factory=list)
    fetch_statuses: dict[str, str] = field(default_factory=dict)


@dataclass
class SourceOutcome:
    """What happened to every requested vintage of a source."""

    source: str
    vintages: list[VintageOutcome] = field(default_factory=list)

    @property
    def failures(self) -> list[VintageOutcome]:
        return [v for v in self.vintages if v.status in (INVALID, MISSING)]

    @property
    def changed(self) -> bool:
        return any(v.status == LOADED for v in self.vintages)

    def summary(self) -> str:
        parts = [f"{v.vintage}: {v.status}" for v in self.vintages]
        return f"{self.source} — " + (", ".join(parts) or "no vintage requested")


def raw_table(source_id: str, entity: str) -> str:
    """The raw table holding one entity of a source, all vintages stacked."""
    return f'raw."{source_id}__{entity}"'


def entity_columns(source: Source, entity: str) -> tuple[list[str], list[str]]:
    """(scalar columns, list columns) the raw table of an entity always has."""
    spec = source.entities.get(entity, {})
    scalars = list(dict.fromkeys([*spec.get("columns", []), *spec.get("optional", [])]))
    return scalars, list(spec.get("list_columns", []))


def ensure_raw_tables(con: duckdb.DuckDBPyConnection, source: Source) -> None:
    """Create every raw table of a source, empty, so dbt compiles before a first load."""
    con.execute("create schema if not exists raw")
    for entity in source.entities:
        scalars, lists = entity_columns(source, entity)
        columns = [f'"{c}" varchar' for c in scalars] + [f'"{c}" varchar[]' for c in lists]
        columns += ['"_vintage" varchar', '"_snapshot_sha256" varchar', '"_loaded_at" timestamptz']
        con.execute(f"create table if not exists {raw_table(source.id, entity)} ({', '.join(columns)})")


def current_snapshots(store: RawStore, source_id: str, vintage: str) -> list[Snapshot]:
    """The newest snapshot of each file of a vintage that is not marked invalid, newest first."""
    newest: dict[str, Snapshot] = {}
    for snap in store.snapshots(source_id, vintage):
        if store.status(snap) == "invalid":
            continue
        known = newest.get(snap.file_name)
        if known is None or snap.fetched_at >= known.fetched_at:
            newest[snap.file_name] = snap
    return sorted(newest.values(), key=lambda s: s.fetched_at, reverse=True)


def frame_spec(source: Source, entity: str, frame: pl.DataFrame, *, sample: bool) -> FrameSpec:
    """The catalogue's checks for an entity, limited to the optional columns the file has.

    The bundled sample covers a few hundred communes, so its row counts only need to be
    above zero; every other check is the same as for the national files.
    """
    raw = dict(source.entities.get(entity, {}))
    present = set(frame.columns)
    columns = [*raw.get("columns", []), *[c for c in raw.get("optional", []) if c in present]]
    allowed = set(columns)

    def keep(name: str) -> list[str]:
        return [c for c in raw.get(name, []) if c in allowed]

    rows = list(raw.get("rows", [None, None]))
    if sample and rows[0]:
        rows[0] = 1
    return FrameSpec.from_dict(
        {
            "columns": columns,
            "key": raw.get("key", []),
            "commune_code_columns": keep("commune_code_columns"),
            "not_null": keep("not_null"),
            "numeric_columns": keep("numeric_columns"),
            "value_sets": {k: v for k, v in raw.get("value_sets", {}).items() if k in allowed},
            "rows": rows,
        }
    )


def loaded_snapshots(con: duckdb.DuckDBPyConnection, source_id: str, vintage: str) -> list[str]:
    """Every snapshot hash the last good load of a vintage was made from."""
    rows = con.execute(
        "select distinct snapshot_sha256 from meta.raw_load_snapshots where source = ? and vintage = ? order by 1",
        [source_id, vintage],
    ).fetchall()
    return [r[0] for r in rows]


def load_vintage(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    vintage: str,
    frames: dict[str, tuple[pl.DataFrame, Snapshot]],
    snapshots: list[Snapshot],
) -> dict[str, int]:
    """Replace the rows of one vintage in every raw table of the source, in one transaction.

    An entity the reader did not return this time loses its rows of that vintage, so no
    stale rows outlive the files they came from.
    """
    loaded_at = datetime.now(timezone.utc)
    counts: dict[str, int] = {}
    con.execute("begin transaction")
    try:
        con.execute("delete from meta.raw_loads where source = ? and vintage = ?", [source.id, vintage])
        con.execute("delete from meta.raw_load_snapshots where source = ? and vintage = ?", [source.id, vintage])
        con.executemany(
            "insert into meta.raw_load_snapshots values (?, ?, ?, ?, ?)",
            [[source.id, vintage, s.sha256, s.file_name, loaded_at] for s in snapshots],
        )
        for entity in set(source.entities) - set(frames):
            con.execute(f"delete from {raw_table(source.id, entity)} where _vintage = ?", [vintage])
        for entity, (frame, snap) in frames.items():
            scalars, lists = entity_columns(source, entity)
            missing = [pl.lit(None, pl.Utf8).alias(c) for c in scalars if c not in frame.columns]
            missing += [pl.lit(None, pl.List(pl.Utf8)).alias(c) for c in lists if c not in frame.columns]
            incoming = frame.with_columns(missing).to_arrow()  # noqa: F841 - read by DuckDB below
            table = raw_table(source.id, entity)
            con.execute(
                f"""
                create or replace table {table} as
                select * from {table} where _vintage <> $vintage
                union all by name
                select *, $vintage as _vintage, $sha as _snapshot_sha256, $loaded_at as _loaded_at
                from incoming
                """,
                {"vintage": vintage, "sha": snap.sha256, "loaded_at": loaded_at},
            )
            counts[entity] = frame.height
            con.execute(
                "insert into meta.raw_loads values (?, ?, ?, ?, ?, ?, ?)",
                [source.id, vintage, entity, table, snap.sha256, frame.height, loaded_at],
            )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return counts


def parse_and_validate(
    source: Source, vintage: str, snapshots: list[Snapshot], *, sample: bool = False
) -> dict[str, tuple[pl.DataFrame, Snapshot]]:
    """Parse the snapshot files of a vintage and check every entity; raises on the first problem."""
    by_path = {s.path: s for s in snapshots}
    parsed = get_reader(source.reader)([s.path for s in snapshots], vintage)
    frames = {entity: (frame, by_path[path]) for entity, (frame, path) in parsed.items()}
    for entity, (frame, snap) in frames.items():
        scalar = frame.select([c for c, t in frame.schema.items() if not isinstance(t, (pl.List, pl.Struct))])
        validate_frame(
            scalar.to_pandas(),
            frame_spec(source, entity, frame, sample=sample),
            source=source.id,
            vintage=vintage,
            file_name=snap.file_name,
            entity=entity,
        )
    return frames


def ingest_vintage(
    con: duckdb.DuckDBPyConnection,
    store: RawStore,
    fetcher: Fetcher | None,
    source: Source,
    vintage: str,
    *,
    sample: bool = False,
) -> VintageOutcome:
    """Fetch (unless fetcher is None), then parse, validate and load one vintage."""
    outcome = VintageOutcome(vintage, MISSING)
    errors = []
    if fetcher is not None:
        for spec in source.vintage(vintage).files:
            result = fetcher.fetch(FetchRequest(source.id, vintage, spec.name, spec.url, spec.format))
            outcome.fetch_statuses[spec.name] = result.status
            if result.error:
                errors.append(result.error)
    snapshots = current_snapshots(store, source.id, vintage)
    if not snapshots:
        outcome.detail = "; ".join(errors) or f"no snapshot of {source.id} {vintage}"
        return outcome
    outcome.snapshots = sorted(s.sha256 for s in snapshots)
    previous = loaded_snapshots(con, source.id, vintage)
    if previous == outcome.snapshots:
        outcome.status, outcome.detail = UNCHANGED, "; ".join(errors)
        return outcome
    try:
        frames = parse_and_validate(source, vintage, snapshots, sample=sample)
    except IncompleteVintage as exc:
        outcome.detail = "; ".join([*errors, str(exc)])
        return outcome
    except (ParseError, ValidationFailed, SourceError) as exc:
        # Only the files new since the last good load are to blame; the others stay current.
        for snap in snapshots:
            if snap.sha256 not in previous and store.status(snap) != "valid":
                store.mark(snap, "invalid", str(exc))
        outcome.status, outcome.detail = INVALID, str(exc)
        return outcome
    outcome.rows = load_vintage(con, source, vintage, frames, snapshots)
    for snap in snapshots:
        store.mark(snap, "valid")
    outcome.status, outcome.detail = LOADED, "; ".join(errors)
    return outcome


def ingest_source(
    con: duckdb.DuckDBPyConnection,
    store: RawStore,
    fetcher: Fetcher | None,
    source: Source,
    vintages: Iterable[str] | None = None,
    *,
    sample: bool = False,
    log: Callable[[str], None] = lambda message: None,
) -> SourceOutcome:
    """Ingest the requested vintages (all of the catalogue's by default); never raises for bad data."""
    ensure_meta_tables(con)
    ensure_raw_tables(con, source)
    outcome = SourceOutcome(source.id)
    for vintage in list(vintages or source.vintage_ids):
        source.vintage(vintage)  # unknown vintage: a clear error before any work
        result = ingest_vintage(con, store, fetcher, source, vintage, sample=sample)
        outcome.vintages.append(result)
        log(f"{source.id} {vintage}: {result.status}" + (f" — {result.detail}" if result.detail else ""))
    return outcome
