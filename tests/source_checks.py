"""Helpers for the per-source tests: load a vintage from a folder, break it, check nothing is lost.

Usage in a test module (tests/ is on sys.path):

    from source_checks import load_from_folder, assert_refused_and_nothing_lost

    home = DataHome(tmp_path / "home").ensure()
    outcome = load_from_folder(home, sample_dir, "drees_apl", "2023")      # first a good load
    assert outcome.status == "loaded"
    # then break a copy of the files and check the refusal
    assert_refused_and_nothing_lost(home, broken_dir, "drees_apl", "2023", "column APL is missing")

A folder is a mirror tree: <folder>/<source>/<vintage>/<file name> (as `write_sample` writes it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb

from pipelines.warehouse.ingestion import INVALID, VintageOutcome, current_snapshots, ingest_source
from pipelines.settings import DBT_PROJECT_DIR, DataHome
from pipelines.sources.catalogue import get_source
from pipelines.sources.fetch import Fetcher
from pipelines.sources.snapshots import RawStore


def load_from_folder(home: DataHome, folder: Path, source_id: str, vintage: str, *, sample: bool = True) -> VintageOutcome:
    """Fetch one vintage from a folder mirror, then parse, validate and load it into home's build database."""
    store = RawStore(home.root)
    with Fetcher(store, mirror=str(folder), retries=0) as fetcher, duckdb.connect(str(home.work_db)) as con:
        outcome = ingest_source(con, store, fetcher, get_source(source_id), [vintage], sample=sample)
    return outcome.vintages[0]


def stored_state(home: DataHome, source_id: str, vintage: str) -> tuple[dict[Path, bytes], list[tuple]]:
    """(every snapshot file with its bytes, the raw loads recorded) for one vintage."""
    store = RawStore(home.root)
    files = {s.path: s.path.read_bytes() for s in store.snapshots(source_id, vintage)}
    with duckdb.connect(str(home.work_db), read_only=True) as con:
        loads = con.execute(
            "select entity, snapshot_sha256, rows from meta.raw_loads where source = ? and vintage = ? order by 1",
            [source_id, vintage],
        ).fetchall()
    return files, loads


def assert_refused_and_nothing_lost(
    home: DataHome, broken_folder: Path, source_id: str, vintage: str, *expected_in_message: str
) -> VintageOutcome:
    """Load a broken vintage: it must be refused with a message containing every expected
    fragment (and the file name), while earlier snapshots and loaded rows stay as they were."""
    files_before, loads_before = stored_state(home, source_id, vintage)
    outcome = load_from_folder(home, broken_folder, source_id, vintage)
    refused = outcome.status == INVALID or "failed" in outcome.fetch_statuses.values()
    assert refused, f"expected {source_id} {vintage} to be refused, got {outcome.status}: {outcome.detail}"
    for fragment in expected_in_message:
        assert fragment in outcome.detail, f"{fragment!r} not in: {outcome.detail}"
    files_after, loads_after = stored_state(home, source_id, vintage)
    for path, data in files_before.items():
        assert files_after[path] == data, f"snapshot {path} changed"
    assert loads_after == loads_before, "the raw tables no longer hold the last good rows"
    current = current_snapshots(RawStore(home.root), source_id, vintage)
    assert {s.path for s in current} <= set(files_before), "a refused file became current"
    return outcome


def dbt_build(database: Path, work: Path, *selection: str) -> subprocess.CompletedProcess:
    """`dbt build --select <selection>` on `database`, with its output under `work`.

    dbt parses the project again whenever the profile's database path changes, so every
    call builds one fixed copy (tests run one after the other) with one shared target
    folder, and the result is copied back to `database`.
    """
    shared = work.parent / "dbt_shared"  # the session's temporary folder: the same for every test
    shared.mkdir(parents=True, exist_ok=True)
    fixed = shared / "warehouse.duckdb"
    shutil.copyfile(database, fixed)
    env = {**os.environ, "TERRITOIRES_WORK_DB": str(fixed), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    command = [
        str(Path(sys.executable).with_name("dbt")), "build", "--project-dir", str(DBT_PROJECT_DIR),
        "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(shared / "target"),
        "--log-path", str(work / "dbt_logs"), "--select", *selection,
    ]  # fmt: skip
    try:
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    finally:
        shutil.copyfile(fixed, database)
        fixed.unlink(missing_ok=True)
