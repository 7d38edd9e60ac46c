"""Fetch → snapshot → parse → validate → load, for one source, vintage by vintage.

A vintage's files are those its catalogue entry lists, or, for a weekly or monthly
source, those found upstream (pipelines/sources/discovery.py) or given by hand. Its
current snapshots are what upstream served at its latest successful fetch (or the files
given to `territoires ingest`); a snapshot found invalid by today's parser gives way to
the last valid one of its file.

A vintage is loaded into its raw tables only when every file parsed and every entity
passed its checks; otherwise the rows already loaded for it stay as they were and the
new snapshot is marked invalid. A loaded vintage is identified by its snapshot hashes and
its parser's fingerprint: when either changes (a new file, a reader fix, new parse
options) the vintage is parsed again; when neither does, nothing is read.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import polars as pl

from pipelines.sources import failpoints
from pipelines.quality import FrameSpec, ValidationFailed, validate_frame
from pipelines.sources.catalogue import FileSpec, Source, get_source
from pipelines.sources.columns import apply_aliases
from pipelines.sources.errors import SourceError
from pipelines.sources.fetch import Fetcher, FetchRequest
from pipelines.sources.readers import IncompleteVintage, ParseError, get_reader, reader_notes
from pipelines.sources.snapshots import RawStore, Snapshot
from pipelines.warehouse.fingerprint import parser_fingerprint
from pipelines.warehouse.meta import ensure_meta_tables

LOADED, UNCHANGED, MISSING, INVALID = "loaded", "unchanged", "missing", "invalid"
SYSTEM_COLUMNS = ("_vintage", "_snapshot_sha256", "_loaded_at")
FETCH_OK = ("downloaded", "unchanged", "not_modified", "cached")


@dataclass
class VintageOutcome:
    """What happened to one vintage of a source in this run."""

    vintage: str
    status: str
    detail: str = ""
    rows: dict[str, int] = field(default_factory=dict)
    snapshots: list[str] = field(default_factory=list)
    fetch_statuses: dict[str, str] = field(default_factory=dict)
    # the fetch errors of this run (the vintage then serves its earlier snapshots)
    fetch_errors: list[str] = field(default_factory=list)
    downloaded_bytes: int = 0
    seconds: float = 0.0
    # when the snapshots in use were fetched (the oldest of them), for "serving the snapshot of …"
    serving_since: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def fetch_failed(self) -> bool:
        return bool(self.fetch_errors)

    def describe(self) -> str:
        """One line: status, what was fetched, and what went wrong."""
        parts = [self.status]
        if self.fetch_failed:
            since = f", serving the snapshot of {self.serving_since[:10]}" if self.serving_since else ""
            parts.append(f"fetch failed: {'; '.join(self.fetch_errors)}{since}")
        if self.detail and self.detail not in (*self.fetch_errors, "; ".join(self.fetch_errors)):
            parts.append(self.detail)
        parts += self.notes
        return " — ".join(parts)


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


def known_vintages(store: RawStore, source: Source) -> list[str]:
    """The catalogue's vintages, and for a weekly or monthly source those stored or discovered."""
    vintages = set(source.vintage_ids)
    if source.is_dynamic:
        vintages |= {v for v in store.vintages(source.id) if source.accepts(v)}
    return sorted(vintages)


def vintage_files(store: RawStore, source: Source, vintage: str) -> tuple[tuple[FileSpec, ...], bool]:
    """(the files a vintage holds, whether to fetch them now).

    A catalogue vintage is fetched every time (conditional requests keep it cheap). A
    weekly or monthly one is fetched only while it is the newest: its files come from what
    discovery recorded (or the template's `current_files`). An older one is rebuilt from
    its snapshots; if it never had any, its dated files (`past_files`) are fetched.
    """
    if vintage in source.vintages:
        return source.vintages[vintage].files, True
    recorded = store.vintage_files(source.id, vintage)
    files = tuple(FileSpec(**f) for f in recorded) if recorded is not None else None
    newest = vintage >= max(known_vintages(store, source) or [vintage])
    if newest:
        return files if files is not None else source.template_files("current_files", vintage), True
    if store.served(source.id, vintage) is None and not store.snapshots(source.id, vintage):
        return source.template_files("past_files", vintage), True
    return files or (), False


def served_snapshots(store: RawStore, source_id: str, vintage: str) -> list[Snapshot]:
    """The snapshots a vintage's files serve now, newest first (some may have been found invalid).

    What upstream served at the latest successful fetch of each file (or what was given to
    `territoires ingest`); for a vintage stored before that was recorded, the newest
    snapshot of each file name that is not marked invalid.
    """
    served = store.served(source_id, vintage)
    if served is None:
        newest: dict[str, Snapshot] = {}
        for snap in store.snapshots(source_id, vintage):
            if store.status(snap) == "invalid":
                continue
            known = newest.get(snap.file_name)
            if known is None or snap.fetched_at >= known.fetched_at:
                newest[snap.file_name] = snap
        found = list(newest.values())
    else:
        found = [
            snap
            for name, entry in served.items()
            if (snap := store.find(source_id, vintage, name, entry["sha256"])) is not None
        ]
    return sorted(found, key=lambda s: s.fetched_at, reverse=True)


def _mirror_files(mirror: str, source: Source, vintage: str) -> tuple[FileSpec, ...]:
    """The files a mirror's folder holds for a week or month no discovery recorded."""
    from pipelines.sources.discovery import discover

    try:
        found = discover(source, mirror=mirror)
    except SourceError:
        return ()
    return next((d.files for d in found if d.vintage == vintage), ())


def current_snapshots(store: RawStore, source_id: str, vintage: str) -> list[Snapshot]:
    """The snapshots a vintage reads now, newest first.

    What its files serve (served_snapshots), except that a version today's parser found
    invalid gives way to the newest valid snapshot of the same file: a refused file never
    becomes current, and a file served again after a reader fix is checked again.
    """
    try:
        parser = parser_fingerprint(get_source(source_id), vintage)
    except ValueError:  # not a catalogue source or vintage: every verdict stands
        parser = ""
    usable, _ = usable_snapshots(store, served_snapshots(store, source_id, vintage), parser)
    return sorted(usable, key=lambda s: s.fetched_at, reverse=True)


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
    return loaded_identity(con, source_id, vintage)[0]


def loaded_identity(con: duckdb.DuckDBPyConnection, source_id: str, vintage: str) -> tuple[list[str], str]:
    """(snapshot hashes, parser fingerprint) of the last good load of a vintage."""
    rows = con.execute(
        "select distinct snapshot_sha256, coalesce(parser_fingerprint, '') from meta.raw_load_snapshots "
        "where source = ? and vintage = ? order by 1",
        [source_id, vintage],
    ).fetchall()
    return [r[0] for r in rows], (rows[0][1] if rows else "")


def load_vintage(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    vintage: str,
    frames: dict[str, tuple[pl.DataFrame, Snapshot]],
    snapshots: list[Snapshot],
    parser: str = "",
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
            "insert into meta.raw_load_snapshots by name select ? as source, ? as vintage, ? as snapshot_sha256, "
            "? as file_name, ? as loaded_at, ? as parser_fingerprint",
            [[source.id, vintage, s.sha256, s.file_name, loaded_at, parser] for s in snapshots],
        )
        for entity in set(source.entities) - set(frames):
            con.execute(f"delete from {raw_table(source.id, entity)} where _vintage = ?", [vintage])
        for entity, (frame, snap) in frames.items():
            scalars, lists = entity_columns(source, entity)
            # The raw table has the catalogue's columns: one the file lacks stays empty, one it adds is not kept.
            incoming = frame.select([c for c in [*scalars, *lists] if c in frame.columns]).to_arrow()  # noqa: F841 - read by DuckDB below
            table = raw_table(source.id, entity)
            con.execute(f"delete from {table} where _vintage = ?", [vintage])
            con.execute(
                f"""
                insert into {table} by name
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
            failpoints.reach("ingest.load")
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
    frames = {
        entity: (
            apply_aliases(frame, source.entities.get(entity, {}), f"{source.id} {vintage} {path.name}"),
            by_path[path],
        )
        for entity, (frame, path) in parsed.items()
    }
    for entity, (frame, snap) in frames.items():
        scalar = frame.select([c for c, t in frame.schema.items() if not isinstance(t, (pl.List, pl.Struct))])
        validate_frame(
            scalar.to_pandas(use_pyarrow_extension_array=True),  # Arrow-backed strings: no millions of Python objects
            frame_spec(source, entity, frame, sample=sample),
            source=source.id,
            vintage=vintage,
            file_name=snap.file_name,
            entity=entity,
        )
    return frames


def usable_snapshots(
    store: RawStore, snapshots: list[Snapshot], parser: str
) -> tuple[list[Snapshot], list[tuple[Snapshot, str]]]:
    """(the snapshots to read, the served ones refused).

    A served snapshot that today's parser already found invalid is not read again: the
    newest valid snapshot of the same file stands in for it, if there is one.
    """
    usable, refused = [], []
    for snap in snapshots:
        verdict = store.verdict(snap)
        if verdict["status"] == "invalid" and (not parser or verdict["parser_fingerprint"] in ("", parser)):
            refused.append((snap, verdict["detail"]))
            fallback = [
                s for s in store.snapshots(snap.source, snap.vintage)
                if s.file_name == snap.file_name and store.status(s) == "valid"
            ]  # fmt: skip
            if fallback:
                usable.append(fallback[-1])
        else:
            usable.append(snap)
    return usable, refused


def _fetch(fetcher: Fetcher, store: RawStore, source: Source, vintage: str, files, outcome: VintageOutcome) -> None:
    """Fetch every file of the vintage; once all were served, the vintage holds exactly them."""
    served_all = True
    for spec in files:
        result = fetcher.fetch(FetchRequest(source.id, vintage, spec.name, spec.url, spec.format))
        outcome.fetch_statuses[spec.name] = result.status
        if result.status == "downloaded" and result.snapshot:
            outcome.downloaded_bytes += result.snapshot.bytes
        if result.error:
            outcome.fetch_errors.append(result.error)
        served_all &= result.status in FETCH_OK
    if served_all and files:
        store.keep_only(source.id, vintage, [spec.name for spec in files])


def ingest_vintage(
    con: duckdb.DuckDBPyConnection,
    store: RawStore,
    fetcher: Fetcher | None,
    source: Source,
    vintage: str,
    *,
    sample: bool = False,
    force: bool = False,
) -> VintageOutcome:
    """Fetch (unless fetcher is None), then parse, validate and load one vintage.

    `force` parses and loads the vintage again even when its identity is unchanged.
    """
    started = time.monotonic()
    outcome = VintageOutcome(vintage, MISSING)
    try:
        _ingest(con, store, fetcher, source, vintage, outcome, sample=sample, force=force)
    finally:
        outcome.seconds = time.monotonic() - started
    return outcome


def fetch_vintage(store: RawStore, fetcher: Fetcher | None, source: Source, vintage: str, outcome: VintageOutcome) -> tuple[FileSpec, ...]:
    """Fetch the files of a vintage that are to be fetched now (none offline); returns the vintage's files.

    What was fetched and what failed goes into `outcome`; nothing is parsed.
    """
    files, fetch_now = vintage_files(store, source, vintage)
    if fetcher is not None and fetch_now and not fetcher.offline:  # offline: the snapshots as they are
        if source.is_dynamic and fetcher.mirror and vintage not in source.vintages and store.vintage_files(source.id, vintage) is None:
            files = _mirror_files(fetcher.mirror, source, vintage) or files  # what the mirror's folder holds
        _fetch(fetcher, store, source, vintage, files, outcome)
    return files


def _ingest(con, store, fetcher, source, vintage, outcome: VintageOutcome, *, sample: bool, force: bool) -> None:
    ensure_meta_tables(con)
    ensure_raw_tables(con, source)
    files = fetch_vintage(store, fetcher, source, vintage, outcome)
    served = served_snapshots(store, source.id, vintage)
    if not served:
        outcome.detail = "; ".join(outcome.fetch_errors) or (
            f"no snapshot of {source.id} {vintage}"
            + ("" if files else ": no file is known for this vintage; give its files with `territoires ingest`")
        )
        return
    parser = parser_fingerprint(source, vintage)
    snapshots, refused = usable_snapshots(store, served, parser)
    outcome.serving_since = min(s.fetched_at for s in snapshots) if snapshots else None
    refusal = "; ".join(f"{snap.file_name} {snap.sha256[:12]}… was found invalid: {why}" for snap, why in refused)
    if refused:
        refusal += "; the last valid snapshot is used" if snapshots else "; no valid snapshot to fall back on"
        outcome.status, outcome.detail = INVALID, "; ".join([*outcome.fetch_errors, refusal])
    if not snapshots:
        return
    outcome.snapshots = sorted(s.sha256 for s in snapshots)
    previous, previous_parser = loaded_identity(con, source.id, vintage)
    if not force and previous == outcome.snapshots and previous_parser == parser:
        if not refused:
            outcome.status, outcome.detail = UNCHANGED, "; ".join(outcome.fetch_errors)
        return
    try:
        frames = parse_and_validate(source, vintage, snapshots, sample=sample)
    except IncompleteVintage as exc:
        outcome.status, outcome.detail = MISSING, "; ".join(filter(None, [refusal, str(exc)]))
        return
    except (ParseError, ValidationFailed, SourceError) as exc:
        # Only files not yet found valid by this parser are to blame; the others stay current.
        blamed = [s for s in snapshots if not _valid_for(store, s, parser)] or snapshots
        for snap in blamed:
            store.mark(snap, "invalid", str(exc), parser=parser)
        outcome.status, outcome.detail = INVALID, "; ".join(filter(None, [refusal, str(exc)]))
        return
    outcome.rows = load_vintage(con, source, vintage, frames, snapshots, parser)
    outcome.notes = reader_notes(source.reader, frames)
    for snap in snapshots:
        store.mark(snap, "valid", parser=parser)
    if not refused:
        outcome.status, outcome.detail = LOADED, "; ".join(outcome.fetch_errors)


def offline_status(con: duckdb.DuckDBPyConnection, store: RawStore, source: Source, vintage: str) -> VintageOutcome | None:
    """What an offline ingestion of the vintage would report without doing anything: missing
    (no snapshot to serve) or unchanged (its served snapshots are those loaded, by today's
    parser); None when there is work or something else to report (a new or refused
    snapshot, a new parser)."""
    outcome = VintageOutcome(vintage, MISSING)
    served = served_snapshots(store, source.id, vintage)
    if not served:
        files, _ = vintage_files(store, source, vintage)
        outcome.detail = f"no snapshot of {source.id} {vintage}" + (
            "" if files else ": no file is known for this vintage; give its files with `territoires ingest`"
        )
        return outcome
    parser = parser_fingerprint(source, vintage)
    snapshots, refused = usable_snapshots(store, served, parser)
    if refused or not snapshots:
        return None
    previous, previous_parser = loaded_identity(con, source.id, vintage)
    if previous != sorted(s.sha256 for s in snapshots) or previous_parser != parser:
        return None
    outcome.status, outcome.snapshots = UNCHANGED, previous
    return outcome


def _valid_for(store: RawStore, snap: Snapshot, parser: str) -> bool:
    verdict = store.verdict(snap)
    return verdict["status"] == "valid" and verdict["parser_fingerprint"] == parser


def ingest_source(
    con: duckdb.DuckDBPyConnection,
    store: RawStore,
    fetcher: Fetcher | None,
    source: Source,
    vintages: Iterable[str] | None = None,
    *,
    sample: bool = False,
    force: bool = False,
    log: Callable[[str], None] = lambda message: None,
    on_vintage: Callable[[str, VintageOutcome], None] = lambda source_id, outcome: None,
) -> SourceOutcome:
    """Ingest the requested vintages (all known ones by default); never raises for bad data."""
    ensure_meta_tables(con)
    ensure_raw_tables(con, source)
    outcome = SourceOutcome(source.id)
    for vintage in list(vintages or known_vintages(store, source)):
        source.vintage(vintage)  # unknown vintage: a clear error before any work
        result = ingest_vintage(con, store, fetcher, source, vintage, sample=sample, force=force)
        outcome.vintages.append(result)
        log(f"{source.id} {vintage}: {result.describe()}")
        on_vintage(source.id, result)
    return outcome


# --------------------------------------------------------------------- files given by hand


@dataclass
class HandIngest:
    """What `territoires ingest` stored and found."""

    snapshots: list[Snapshot]
    files: list[str]  # the file names the vintage reads now
    frames: dict[str, tuple[int, str]] = field(default_factory=dict)  # entity -> (rows, file name)
    pending: str = ""  # why the vintage is not checked yet (a file still missing)


def ingest_files(
    store: RawStore,
    source: Source,
    vintage: str,
    paths: Sequence[Path],
    *,
    add: bool = False,
    sample: bool = False,
) -> HandIngest:
    """Store files obtained by hand as the vintage's files, then parse and check the vintage.

    The files given become the vintage's files. When every name given is one the catalogue
    lists for that vintage, the vintage's other catalogue files stay (one file of several
    replaced); `add` keeps every current file beside the new ones (feeds of a GTFS week
    given one by one). Raises SourceError for an unreadable or wrong file, ParseError or
    ValidationFailed when the vintage fails its checks (the files stay stored, marked invalid).
    """
    source.vintage(vintage)
    listed = {spec.name for spec in source.vintages[vintage].files} if vintage in source.vintages else set()
    with Fetcher(store, offline=True) as fetcher:
        added = []
        for path in paths:
            added.append(fetcher.ingest_file(source.id, vintage, Path(path)))
    names = [snap.file_name for snap in added]
    if add:
        keep = list(store.served(source.id, vintage) or {})
    elif listed and set(names) <= listed:
        keep = sorted(listed - set(names))
    else:
        keep = []
    store.set_files(added, keep=keep)
    parser = parser_fingerprint(source, vintage)
    for snap in added:
        if store.status(snap) == "invalid":  # the same bytes were refused before: check them again
            store.mark(snap, "unchecked", "submitted again by hand", parser=parser)
    current = current_snapshots(store, source.id, vintage)
    result = HandIngest(added, sorted(s.file_name for s in current))
    try:
        frames = parse_and_validate(source, vintage, current, sample=sample)
    except IncompleteVintage as exc:
        result.pending = str(exc)
        return result
    except (ParseError, ValidationFailed, SourceError) as exc:
        for snap in added:
            store.mark(snap, "invalid", str(exc), parser=parser)
        raise
    for snap in {snap.path: snap for _, snap in frames.values()}.values():
        store.mark(snap, "valid", parser=parser)
    result.frames = {entity: (frame.height, snap.file_name) for entity, (frame, snap) in sorted(frames.items())}
    return result
