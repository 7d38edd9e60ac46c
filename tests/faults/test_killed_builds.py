"""Builds killed with SIGKILL at random points, then a disk that fills: nothing published or stored is lost.

One data home, a copy of the sample build, goes through the whole series in order:

1. 21 kills (`pipelines/sources/failpoints.py`), each at a point drawn from a seeded random
   generator (the seed is printed; TERRITOIRES_FAULT_SEED replays a series): during
   downloads, during loads, during dbt, during the candidate's copy, its stamp, just
   before and just after its rename, and during exports. After each kill the published
   warehouse is the last complete one (it opens, its publish checks pass, its build id
   is the one published before), every snapshot's bytes match their sha256, and
   exports/latest is a whole export.
2. The disk fills during a download, then during a build (the data home sits on a
   small tmpfs, resized with `mount -o remount`): each fails with an error naming the
   file it could not write, and nothing is lost.
3. Space is freed and a forced build runs: it completes without any clean-up by hand
   and publishes a new build.

Killed builds are started in their own session and killed with their process group,
as a service manager kills a service (the dbt subprocess dies with the build).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from http_fixtures import serve
from pipelines.settings import DataHome
from pipelines.sources.snapshots import RawStore
from pipelines.warehouse.publish import PUBLISH_CHECKS

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("killed_builds")]

TERRITOIRES = str(Path(sys.executable).with_name("territoires"))
PUBLISH_STEP = str(Path(__file__).with_name("publish_step.py"))
SEED = int(os.environ.get("TERRITOIRES_FAULT_SEED") or time.time_ns() % 1_000_000)
KILLED = -9  # subprocess's return code for a process ended by SIGKILL
TALLY: dict[str, int] = {}  # what the series did, printed at the end (the README's Reliability counts)

# Sources of the sample whose load a kill can interrupt (each loads at least one vintage).
LOADED_SOURCES = ("insee_population", "insee_bpe", "drees_apl", "insee_sirene", "anct_qpv", "insee_census_age")
# Publish and export points, each at least once, plus draws among them (exports.file: the ~50 files of an export).
PUBLISH_POINTS = ("publish.copy", "publish.stamp", "publish.rename", "exports.file", "exports.switch")


def _hits(rng: random.Random, point: str) -> str:
    if point == "publish.copy":  # the sample's build database is 3 to 6 copy chunks
        return f"{point}={rng.randint(1, 3)}"
    if point == "exports.file":
        return f"{point}={rng.randint(1, 45)}"
    return f"{point}=1"


def kill_plan(seed: int) -> list[tuple[str, list[str], str]]:
    """(phase, territoires arguments or "publish-step", failpoint) for each kill, in order."""
    rng = random.Random(seed)
    plan = [("download", ["build", "--mirror", "{mirror}"], f"fetch.chunk={rng.randint(1, 10)}") for _ in range(3)]
    for source in rng.sample(LOADED_SOURCES, 3):
        plan.append(("load", ["build", "--offline", "--force", "--source", source], "ingest.load=1"))
    points = list(PUBLISH_POINTS) + list(PUBLISH_POINTS) + [rng.choice(PUBLISH_POINTS) for _ in range(2)]
    rng.shuffle(points)
    plan += [(point.split(".")[0], ["publish-step"], _hits(rng, point)) for point in points]
    plan.append(("publish", ["publish-step"], "publish.renamed=1"))  # the new warehouse is in place, then the kill
    # dbt: once while it starts (it takes 20 s or more on the sample), once when it has built
    # a random number of its ~77 models. Counted in models, not seconds: a faster machine or
    # a faster dbt must not let the build reach the publish before the kill.
    dbt = ["build", "--offline", "--force", "--source", "insee_population"]
    plan.append(("dbt", dbt, f"dbt.build+{rng.uniform(0.5, 5):.1f}"))
    plan.append(("dbt", dbt, f"dbt.node={rng.randint(1, 70)}"))
    return plan


def run(home: DataHome, args: list[str], *, failpoint: str | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "TERRITOIRES_HOME": str(home.root), "TERRITOIRES_MIN_FREE_MB": "2"}
    env.pop("TERRITOIRES_FAILPOINT", None)
    if failpoint:
        env["TERRITOIRES_FAILPOINT"] = failpoint
    command = [sys.executable, PUBLISH_STEP, str(home.root)] if args == ["publish-step"] else [TERRITOIRES, *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout, start_new_session=True)


def published(home: DataHome) -> tuple[str, dict[str, str]]:
    """The published warehouse's build id and meta.runs statuses, once its publish checks pass."""
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        build_id = con.execute("select build_id from meta.about").fetchone()[0]
        for label, sql in PUBLISH_CHECKS:
            assert con.execute(sql).fetchone()[0] == 0, f"publish check failed on the published warehouse: {label}"
        runs = dict(con.execute("select build_id, status from meta.runs").fetchall())
    return build_id, runs


def assert_snapshots_whole(home: DataHome) -> int:
    snapshots = RawStore(home.root).snapshots()
    for snapshot in snapshots:
        digest = hashlib.sha256(snapshot.path.read_bytes()).hexdigest()
        assert digest == snapshot.sha256, f"snapshot {snapshot.path} no longer matches its sha256"
    return len(snapshots)


def assert_latest_export_whole(home: DataHome) -> str:
    """exports/latest points at a complete export whose files all match the manifest; its build id."""
    latest = home.exports / "latest"
    manifest = json.loads((latest / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["complete"] and manifest["files"]
    for entry in manifest["files"]:
        path = latest / entry["path"]
        assert path.stat().st_size == entry["bytes"], f"{path} is not the size its manifest says"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"], f"{path} differs from its manifest"
    return manifest["build_id"]


def assert_whole(home: DataHome, build_id: str, snapshots: int) -> None:
    """What must hold after every kill: the last complete warehouse, snapshots and export intact."""
    now, runs = published(home)
    assert now == build_id, f"the published warehouse is {now}, not the last complete build {build_id}"
    assert runs[build_id] == "published"
    assert assert_snapshots_whole(home) >= snapshots  # none lost; a download may have added one
    assert assert_latest_export_whole(home) in runs


@pytest.fixture(scope="module")
def small_disk(tmp_path_factory):
    """A tmpfs mount point that tests can resize, or None where mounting is not allowed (not root)."""
    point = tmp_path_factory.mktemp("small_disk")
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return None
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1g", "tmpfs", str(point)], capture_output=True)
    if mounted.returncode != 0:
        return None
    yield point
    subprocess.run(["umount", "-l", str(point)], capture_output=True)


@pytest.fixture(scope="module")
def home(tmp_path_factory, sample_build, small_disk):
    """A copy of the sample build's data home, on the small disk when there is one."""
    built, _ = sample_build
    root = (small_disk or tmp_path_factory.mktemp("killed")) / "home"
    shutil.copytree(built.root, root, symlinks=True, ignore=shutil.ignore_patterns("dagster", "logs"))
    return DataHome(root).ensure()


def test_builds_killed_at_random_points_lose_nothing(home, sample_files, capsys):
    folder, _ = sample_files
    plan = kill_plan(SEED)
    print(f"\nkill series seed {SEED} (TERRITOIRES_FAULT_SEED={SEED} replays it): {len(plan)} kills")
    build_id, _ = published(home)
    snapshots = assert_snapshots_whole(home)
    assert_latest_export_whole(home)
    by_phase: dict[str, int] = {}
    for n, (phase, args, failpoint) in enumerate(plan, 1):
        with serve(directory=folder) as server:  # a new server each time: every file is downloaded again
            args = [server.base_url if a == "{mirror}" else a for a in args]
            started = time.monotonic()
            result = run(home, args, failpoint=failpoint)
        where = f"kill {n} ({phase}, {failpoint}, seed {SEED})"
        assert result.returncode == KILLED, f"{where}: not killed, exit {result.returncode}\n{result.stdout}{result.stderr}"
        print(f"  {where}: killed after {time.monotonic() - started:.1f} s")
        if failpoint == "publish.renamed=1" or phase == "exports":
            # killed after the rename: the new warehouse, whole, is published; exports/latest is the last whole export
            now, runs = published(home)
            assert now != build_id and runs[now] == "published"
            build_id = now
        assert_whole(home, build_id, snapshots)
        by_phase[phase] = by_phase.get(phase, 0) + 1
    assert sum(by_phase.values()) >= 20 and set(by_phase) == {"download", "load", "dbt", "publish", "exports"}
    TALLY.update(kills=len(plan), **{f"killed during {k}": v for k, v in by_phase.items()})


def fill(disk: Path, leave: int) -> None:
    """Resize the tmpfs so that only `leave` bytes stay free."""
    used = shutil.disk_usage(disk).used
    size_kb = (used + leave) // 1024 + 1
    subprocess.run(["mount", "-o", f"remount,size={size_kb}k", "tmpfs", str(disk)], check=True)


def test_a_full_disk_fails_the_write_that_hit_it_and_the_next_build_succeeds(home, small_disk, sample_files, tmp_path):
    if small_disk is None:
        pytest.skip("mounting a small tmpfs needs root here; the kill series above still ran")
    try:
        _fill_during_a_download_then_a_build(home, small_disk, sample_files, tmp_path)
    finally:
        subprocess.run(["mount", "-o", "remount,size=1g", "tmpfs", str(small_disk)], check=True)  # space freed
    TALLY.update(full_disks=2)


def _fill_during_a_download_then_a_build(home: DataHome, small_disk: Path, sample_files, tmp_path: Path) -> None:
    folder, _ = sample_files
    build_id, _ = published(home)
    snapshots = assert_snapshots_whole(home)

    # During a download: a file larger than the space left; the download's temporary file is what fails.
    upstream = tmp_path / "upstream"
    shutil.copytree(folder, upstream)
    sirene = next((upstream / "insee_sirene").glob("*/*.parquet"))
    sirene.write_bytes(os.urandom(16_000_000))  # changed upstream, and larger than the disk's free space
    transform_pending = home.transform_marker.exists()  # the killed dbt builds above left it to do
    # 8 MB: the ingestion run's own Dagster storage and log take a few MB, the transformation still starts
    fill(small_disk, 8_000_000)
    with serve(directory=upstream) as server:
        result = run(home, ["build", "--mirror", server.base_url, "--source", "insee_sirene"])
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output, output
    assert "insee_sirene 2026-11 StockEtablissement_utf8.parquet: could not write" in output, output
    failed = [a["error"] for a in RawStore(home.root).attempts("insee_sirene") if a.get("error")]
    assert re.search(r"could not write \S+/raw/insee_sirene/\S+ \(No space left on device\)", failed[-1]), failed
    if transform_pending:
        # The transformation that follows is refused before dbt for want of room, or, when
        # Dagster's own storage already filled what was left, the build stops saying so.
        assert re.search(
            r"the transformation \(dbt, then a copy to publish\) needs to start"
            r"|the data home's disk could not be written .*the published warehouse and the stored snapshots are unchanged",
            output,
        ), output
    assert_whole(home, build_id, snapshots)
    assert not list(home.raw.rglob(".partial-*")), "a partial download was left behind"

    # During a build: room for dbt to start, not for all it writes and the candidate copy of the warehouse.
    # (The load grows the build database first: with less room the transformation would be refused before dbt.)
    fill(small_disk, home.work_db.stat().st_size + 12_000_000)
    result = run(home, ["build", "--offline", "--force", "--source", "insee_population"])
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output, output
    assert re.search(r"No space left on device|disk is full|disk I/O error|MB free, less than", output), output
    assert_whole(home, build_id, snapshots)

    # Below the free space a build needs to start: refused before anything is written.
    fill(small_disk, 1_000_000)
    result = run(home, ["build", "--offline"])
    assert result.returncode == 1 and "MB a build needs to start (TERRITOIRES_MIN_FREE_MB)" in result.stderr, result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_the_next_build_completes_without_clean_up_and_publishes(home):
    """After the kills and the full disks, a forced build: no clean-up by hand, a new warehouse.

    Forced, since a plain one may find nothing to do (the full-disk build's dbt may have
    finished before its copy failed); forced on one source, since dbt and the publish
    rebuild the whole warehouse anyway and every snapshot is checked against its sha256.
    """
    build_id, _ = published(home)
    snapshots = assert_snapshots_whole(home)
    result = run(home, ["build", "--offline", "--force", "--source", "insee_population"])
    assert result.returncode == 0, result.stdout + result.stderr
    new_id, runs = published(home)
    assert new_id != build_id and runs[new_id] == "published" and runs[build_id] == "published"
    assert not home.transform_marker.exists()  # the interrupted transformation was done again
    assert assert_latest_export_whole(home) == new_id
    assert assert_snapshots_whole(home) >= snapshots
    assert not any(home.builds.iterdir())
    leftovers = [p for p in home.root.rglob("*") if re.match(r"\.(partial|incoming|tmp)-", p.name)]
    assert not leftovers, leftovers
    print(f"\nkill series and full disks: {TALLY}")
