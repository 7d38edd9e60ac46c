"""What a killed build leaves behind is removed by the next one; old exports go after N builds."""

from __future__ import annotations

import os

from pipelines.orchestration import progress
from pipelines.orchestration.run_path import execute
from pipelines.settings import DataHome
from pipelines.warehouse.housekeeping import prune_exports, remove_leftovers


def leftovers(home: DataHome) -> list:
    """The temporary files a build killed at each stage would leave."""
    sha_dir = home.raw / "anct_frr" / "2025" / ("a" * 64)
    sha_dir.mkdir(parents=True)
    (sha_dir / "liste.csv").write_text("kept")  # a snapshot: never touched
    paths = [
        home.builds / "20261201T000000Z-abcdef" / "warehouse.duckdb",  # killed during the copy
        home.raw / "anct_frr" / "2025" / ".partial-0123",  # killed during a download
        sha_dir / ".incoming-4567",  # killed while storing it
        home.raw / "anct_frr" / "2025" / ".tmp-89ab",  # killed while writing current.json
        home.exports / ".tmp-20261201T000000Z-abcdef-1234" / "x.csv",  # killed during the exports
    ]
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("half")
    return [sha_dir / "liste.csv", *paths]


def test_leftovers_of_a_killed_build_are_removed_and_snapshots_are_not(tmp_path):
    home = DataHome(tmp_path / "home").ensure()
    kept, *gone = leftovers(home)
    removed = remove_leftovers(home)
    assert kept.read_text() == "kept"
    assert not any(p.exists() for p in gone)
    assert len(removed) == 5 and "builds/20261201T000000Z-abcdef" in removed


def test_a_build_that_takes_the_lock_cleans_up_first_and_says_so(tmp_path):
    home = DataHome(tmp_path / "home").ensure()
    _, *gone = leftovers(home)
    said = []
    with progress.listening(lambda kind, fields: said.append((kind, fields))):
        result = execute([], home=home)
    assert result.runs == [] and not any(p.exists() for p in gone)
    assert [kind for kind, _ in said] == ["leftovers"] and ".partial-0123" in said[0][1]["message"]


def test_exports_of_all_but_the_last_builds_are_removed(tmp_path):
    exports = tmp_path / "exports"
    builds = [f"2026112{d}T100000Z-00000{d}" for d in range(1, 8)]
    for build_id in builds:
        (exports / build_id).mkdir(parents=True)
    (exports / f"{builds[0]}-partial").mkdir()
    os.symlink(builds[1], exports / "latest")  # still pointed at: kept whatever its age
    removed = prune_exports(exports, keep=3)
    assert sorted(p.name for p in exports.iterdir()) == sorted(["latest", builds[1], *builds[-3:]])
    assert sorted(removed) == sorted([builds[0], f"{builds[0]}-partial", *builds[2:4]])
