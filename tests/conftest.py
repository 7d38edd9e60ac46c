"""Shared fixtures: the real files of ../shared, the sample mirror, and whole builds."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

PROJECT_ROOT = Path(__file__).resolve().parent.parent
REAL_DATA = Path(os.environ.get("TERRITOIRES_REAL_DATA", PROJECT_ROOT.parent / "shared" / "data" / "real"))


@pytest.fixture(scope="session")
def real_data() -> Path:
    """../shared/data/real, read in place; tests using it are skipped when it is absent."""
    if not REAL_DATA.is_dir():
        pytest.skip(f"real data folder {REAL_DATA} is absent (it sits beside the project as ../shared)")
    return REAL_DATA


@pytest.fixture(scope="session")
def sample_files(tmp_path_factory) -> tuple[Path, dict[str, list[str]]]:
    """The bundled sample written once as a mirror tree: (folder, {source: [vintages]})."""
    from pipelines.sample import write_sample

    folder = tmp_path_factory.mktemp("sample_mirror")
    return folder, write_sample(folder)


@pytest.fixture
def data_home(tmp_path, monkeypatch):
    """A fresh, empty data home for one test (TERRITOIRES_HOME points at it)."""
    from pipelines.settings import DataHome

    monkeypatch.setenv("TERRITOIRES_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("TERRITOIRES_MIRROR", raising=False)
    return DataHome(tmp_path / "home").ensure()


def _sample_build(home_root: Path, sample_files):
    from pipelines.build import run_build
    from pipelines.demo import serve_directory
    from pipelines.publish import SAMPLE_NOTICE
    from pipelines.resources import SAMPLE_MARKER
    from pipelines.settings import DataHome

    folder, written = sample_files
    home = DataHome(home_root).ensure()
    (home.root / SAMPLE_MARKER).write_text(SAMPLE_NOTICE)
    with serve_directory(folder) as base_url:
        result = run_build(home, sources=sorted(written), vintages_by_source=written, mirror=base_url, trigger="test")
    return home, result


@pytest.fixture(scope="session")
def sample_build(tmp_path_factory, sample_files):
    """The whole pipeline run once on the sample, served over a local HTTP mirror."""
    home, result = _sample_build(tmp_path_factory.mktemp("sample_home"), sample_files)
    assert result.success, f"sample build failed: {result.failed_steps} {result.failed_checks}"
    return home, result


@pytest.fixture
def sample_build_copy(tmp_path, sample_build):
    """A private copy of the sample data home, for tests that change it."""
    from pipelines.settings import DataHome

    home, _ = sample_build
    target = tmp_path / "home"
    shutil.copytree(home.root, target, ignore=shutil.ignore_patterns("dagster"))
    return DataHome(target).ensure()


@pytest.fixture(scope="session")
def real_geography_build(tmp_path_factory, real_data):
    """The real Etalab 2024 and 2026 packages ingested by hand, then built offline."""
    from pipelines.build import run_build
    from pipelines.settings import DataHome
    from pipelines.sources.fetch import Fetcher
    from pipelines.sources.snapshots import RawStore

    home = DataHome(tmp_path_factory.mktemp("real_home")).ensure()
    with Fetcher(RawStore(home.root), offline=True) as fetcher:
        for vintage, version in (("2024", "4.1.0"), ("2026", "6.0.0")):
            fetcher.ingest_file("etalab_decoupage", vintage, real_data / "cog" / f"decoupage-administratif-{version}.tgz")
    result = run_build(home, sources=["etalab_decoupage"], offline=True, trigger="test")
    assert result.success, f"real build failed: {result.failed_steps} {result.failed_checks}"
    return home
