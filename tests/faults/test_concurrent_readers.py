"""16 readers query the published warehouse in a loop while 3 builds publish: none fails, none sees half of one.

Eight threads use the DuckDB Python client (a fresh read-only connection per query) and
eight loops run `territoires query`. Three publishes (the build's publish and export
steps, tests/faults/publish_step.py) rename new warehouses over the one they read.

Every query reads, in one statement and so one transaction, the build id of meta.about,
the number of meta.runs rows and the rows of indicators.long. Each publish carries the
history over and adds its own row, so a warehouse's build id and its meta.runs count go
together: a reader that mixed two files would see a pair no publish wrote.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from pipelines.warehouse.query import open_readonly

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("concurrent_readers")]

TERRITOIRES = str(Path(sys.executable).with_name("territoires"))
PUBLISH_STEP = str(Path(__file__).with_name("publish_step.py"))
READ = (
    "select (select build_id from meta.about) as build_id, (select count(*) from meta.runs) as runs, "
    "(select count(*) from indicators.long) as indicator_rows"
)
CLIENT_READERS = 8
CLI_READERS = 8
PUBLISHES = 3


def test_sixteen_readers_during_three_publishes_never_fail_nor_mix_builds(sample_build_copy):
    home = sample_build_copy
    env = {**os.environ, "TERRITOIRES_HOME": str(home.root)}
    stop = threading.Event()
    answers: dict[str, list[tuple]] = {}
    failures: list[str] = []

    def client_reader(name: str) -> None:
        while not stop.is_set():
            try:
                with open_readonly(home.warehouse) as con:
                    answers[name].append(con.execute(READ).fetchone())
            except Exception as exc:  # noqa: BLE001 - any failure is what this test looks for
                failures.append(f"{name}: {type(exc).__name__}: {exc}")
            time.sleep(0.02)  # a busy loop, not a spin: the publishes need the CPU too

    def cli_reader(name: str) -> None:
        while not stop.is_set():
            done = subprocess.run(
                [TERRITOIRES, "query", READ, "--format", "csv"], env=env, capture_output=True, text=True, timeout=120
            )
            if done.returncode != 0:
                failures.append(f"{name}: exit {done.returncode}: {done.stderr.strip()}")
                continue
            lines = done.stdout.splitlines()
            if len(lines) != 2 or lines[0] != "build_id,runs,indicator_rows":
                failures.append(f"{name}: unexpected output {done.stdout[:200]!r}")
                continue
            build_id, runs, rows = lines[1].split(",")
            answers[name].append((build_id, int(runs), int(rows)))
            time.sleep(1.5)  # each `territoires query` is a new process: eight of them in a tight loop would starve the publishes

    readers = [(f"duckdb-{n}", client_reader) for n in range(CLIENT_READERS)]
    readers += [(f"cli-{n}", cli_reader) for n in range(CLI_READERS)]
    threads = []
    for name, target in readers:
        answers[name] = []
        threads.append(threading.Thread(target=target, args=(name,), daemon=True))
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        first = con.execute(READ).fetchone()
    for thread in threads:
        thread.start()

    published = [first[0]]
    for _ in range(PUBLISHES):
        time.sleep(1.0)
        done = subprocess.run([sys.executable, PUBLISH_STEP, str(home.root)], env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        published.append(done.stdout.strip().splitlines()[-1])
    # every reader goes on until it has read the last warehouse at least once
    deadline = time.monotonic() + 120
    while any(not seen or seen[-1][0] != published[-1] for seen in answers.values()):
        assert time.monotonic() < deadline and not failures, failures
        time.sleep(0.2)
    stop.set()
    for thread in threads:
        thread.join(timeout=120)

    assert not failures, failures
    # the pair (build id, meta.runs rows) each publish wrote: one more history row per publish
    expected = {build_id: first[1] + n for n, build_id in enumerate(published)}
    seen = [answer for reader in answers.values() for answer in reader]
    assert {(build_id, runs) for build_id, runs, _ in seen} <= set(expected.items())
    assert {rows for _, _, rows in seen} == {first[2]}  # the same indicators in every build
    assert {build_id for build_id, _, _ in seen} >= {published[0], published[-1]}
    print(
        f"\n{len(readers)} readers, {len(seen)} queries during {PUBLISHES} publishes; "
        f"build ids seen: {sorted({b for b, _, _ in seen})}"
    )
