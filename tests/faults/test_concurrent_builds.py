"""Builds, a schedule tick and an ingest on one data home at once: one at a time, nothing corrupted.

The data home is filled by hand (`territoires ingest` of every sample file), as an
operator without network access would; then three builds start together, a schedule's
tick comes while the first runs (`--no-wait`: it refuses), and `territoires ingest`
arrives during the build (it waits for the lock, then stores and checks its file).
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from pipelines.cli import main
from pipelines.sources.snapshots import RawStore
from pipelines.warehouse.lock import is_locked
from pipelines.warehouse.publish import PUBLISH_CHECKS

pytestmark = pytest.mark.integration
TERRITOIRES = str(Path(sys.executable).with_name("territoires"))


def ingest_everything_by_hand(folder: Path, written: dict[str, list[str]]) -> None:
    # one file of a vintage that needs four is stored but cannot be checked alone
    etalab = folder / "etalab_decoupage" / "2026"
    first = CliRunner().invoke(main, ["ingest", "etalab_decoupage", "--vintage", "2026", "--file", str(etalab / "communes.json")])
    assert first.exit_code == 0 and "not checked yet: etalab_decoupage 2026: no epci.json" in first.output
    for source, vintages in sorted(written.items()):
        for vintage in vintages:
            args = ["ingest", source, "--vintage", vintage]
            for path in sorted((folder / source / vintage).iterdir()):
                args += ["--file", str(path)]
            result = CliRunner().invoke(main, args)
            assert result.exit_code == 0, result.output
            assert f"{source} {vintage} is valid" in result.output


def start_build(home, *args) -> subprocess.Popen:
    env = {**os.environ, "TERRITOIRES_HOME": str(home.root)}
    return subprocess.Popen(
        [TERRITOIRES, "build", "--offline", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_builds_a_tick_and_an_ingest_at_once_take_turns_and_the_published_warehouse_is_whole(sample_files, data_home):
    folder, written = sample_files
    (data_home.root / "SAMPLE_DATA").write_text("sample")
    ingest_everything_by_hand(folder, written)

    first = start_build(data_home)
    deadline = time.monotonic() + 120
    while not is_locked(data_home.lock_file):
        assert first.poll() is None and time.monotonic() < deadline, first.communicate()
        time.sleep(0.1)
    refused = subprocess.run(
        [TERRITOIRES, "build", "--offline", "--no-wait"], env={**os.environ, "TERRITOIRES_HOME": str(data_home.root)},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    tick = subprocess.run(
        [TERRITOIRES, "build", "--schedule", "refresh_yearly_sources", "--no-wait"],
        env={**os.environ, "TERRITOIRES_HOME": str(data_home.root)}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    population = folder / "insee_population" / "2023" / "ensemble.zip"
    ingest = subprocess.Popen(
        [TERRITOIRES, "ingest", "insee_population", "--vintage", "2023", "--file", str(population)],
        env={**os.environ, "TERRITOIRES_HOME": str(data_home.root)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    waiting = start_build(data_home)
    out_first, err_first = first.communicate(timeout=900)
    out_waiting, err_waiting = waiting.communicate(timeout=900)
    out_ingest, err_ingest = ingest.communicate(timeout=300)

    assert first.returncode == 0, out_first + err_first
    assert refused.returncode == 2
    assert f"is busy: process {first.pid} on" in refused.stderr and "territoires build (cli)" in refused.stderr
    assert waiting.returncode == 0, out_waiting + err_waiting
    assert f"waiting for process {first.pid} on" in out_waiting
    assert "build up to date" in out_waiting  # it found the first build's work published
    assert tick.returncode == 2 and f"is busy: process {first.pid} on" in tick.stderr, tick.stdout + tick.stderr
    assert ingest.returncode == 0, out_ingest + err_ingest
    assert f"waiting for process {first.pid} on" in err_ingest
    assert "insee_population 2023 is valid" in out_ingest  # the same bytes again: stored once, checked again
    assert re.search(r"etalab_decoupage +2023 missing, 2024 missing, 2025 loaded, 2026 loaded", out_first)
    build_id = re.search(r"published build (\S+):", out_first).group(1)

    with duckdb.connect(str(data_home.warehouse), read_only=True) as con:
        assert con.execute("select build_id from meta.about").fetchone()[0] == build_id
        assert con.execute("select count(*) from geo.commune").fetchone()[0] == 266
        for label, sql in PUBLISH_CHECKS:
            assert con.execute(sql).fetchone()[0] == 0, label
        statuses = dict(con.execute("select build_id, status from meta.runs").fetchall())
    assert statuses == {build_id: "published"}
    for snapshot in RawStore(data_home.root).snapshots():
        assert hashlib.sha256(snapshot.path.read_bytes()).hexdigest() == snapshot.sha256
    assert not any(data_home.builds.iterdir())  # no candidate copy left behind
    answer = CliRunner().invoke(main, ["query", "select count(*) as n from geo.commune", "--format", "csv"])
    assert answer.output.splitlines() == ["n", "266"]
