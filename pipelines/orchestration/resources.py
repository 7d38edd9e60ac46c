"""Dagster resources: the build database, the source client (raw store + fetcher), dbt, and
the data-home lock every writing run holds."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cached_property
from importlib.metadata import version as installed_version
from pathlib import Path

import dagster as dg
import duckdb
from dagster_dbt import DbtCliResource
from packaging.version import Version

from pipelines.orchestration import progress
from pipelines.orchestration.dbt_project import dbt_project
from pipelines.settings import DataHome, data_home, mirror
from pipelines.sources.fetch import Fetcher
from pipelines.sources.snapshots import RawStore
from pipelines.warehouse.disk import require_free_space
from pipelines.warehouse.housekeeping import remove_leftovers
from pipelines.warehouse.lock import data_home_lock

SAMPLE_MARKER = "SAMPLE_DATA"


def resolve_home(home: str) -> DataHome:
    """The data home a resource names, or TERRITOIRES_HOME when it names none."""
    return (DataHome(Path(home).resolve()) if home else data_home()).ensure()


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB build database under the data home (published by the publish asset).

    `home` overrides TERRITOIRES_HOME; empty means read the environment at run time.
    """

    home: str = ""

    def data_home(self) -> DataHome:
        return resolve_home(self.home)

    def is_sample(self) -> bool:
        """True when this data home holds the bundled sample (written by `territoires demo`)."""
        return (self.data_home().root / SAMPLE_MARKER).exists()

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection to the build database, closed (and checkpointed) on exit."""
        con = duckdb.connect(str(self.data_home().work_db), read_only=read_only)
        try:
            yield con
        finally:
            con.close()


class SourceClient(dg.ConfigurableResource):
    """Where raw files come from: live URLs, a mirror (TERRITOIRES_MIRROR) or, offline, the cache."""

    mirror: str = ""
    offline: bool = False

    def store(self, home: DataHome) -> RawStore:
        return RawStore(home.root)

    def mirror_location(self) -> str | None:
        return self.mirror or mirror()

    def fetcher(self, home: DataHome) -> Fetcher:
        return Fetcher(self.store(home), mirror=self.mirror_location(), offline=self.offline)


class DataHomeLock(dg.ConfigurableResource):
    """Held for the whole run by every run that writes: one writer per data home.

    A run that finds the data home busy (a command-line build, another run) waits, and
    says in its log who it waits for. Once the lock is taken, what a killed build left
    behind (candidate copies, partial downloads, temporary files) is removed.
    """

    home: str = ""

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator["DataHomeLock"]:
        home = resolve_home(self.home)
        log = context.log

        def waiting(holder) -> None:
            message = f"waiting for the data-home lock {home.lock_file}, held by {holder.describe() if holder else 'another process'}"
            if log:
                log.warning(message)
            progress.report("waiting", message=message)

        def acquired() -> None:
            removed = remove_leftovers(home)
            if removed:
                message = f"removed what a killed build left behind: {', '.join(removed[:10])}" + (
                    f" and {len(removed) - 10} more" if len(removed) > 10 else ""
                )
                if log:
                    log.warning(message)
                progress.report("leftovers", message=message)

        require_free_space(home)  # a daemon-launched run on a full disk stops here, saying so
        run = getattr(context, "run", None)
        run_id = run.run_id if run else None
        with data_home_lock(home.lock_file, purpose=f"Dagster run {run_id}", on_wait=waiting, on_acquired=acquired):
            yield self


class DbtResource(DbtCliResource):
    """dagster-dbt's dbt resource without two start-up costs paid on every dbt command.

    Before each command dagster-dbt runs `dbt --version` in a subprocess (about 4 s) and
    opens a dbt adapter in the Dagster process, loading every macro (2 to 3 s). The
    adapter only serves `fetch_row_counts()` and `fetch_column_metadata()`, which
    territoires does not call; the version is the installed dbt-core's (the venv's dbt
    is the one run).
    """

    @cached_property
    def _cli_version(self) -> Version:
        return Version(installed_version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:
        return None


def default_resources(*, home: str = "", offline: bool = False, source_mirror: str = "") -> dict[str, object]:
    """The resources every run uses; a run's config (set by the run path) overrides their fields."""
    return {
        "warehouse": WarehouseResource(home=home),
        "sources": SourceClient(mirror=source_mirror, offline=offline),
        "home_lock": DataHomeLock(home=home),
        "dbt": DbtResource(
            project_dir=dbt_project,
            profiles_dir=str(dbt_project.profiles_dir),
            # The venv's dbt, whether or not the venv is on PATH.
            dbt_executable=str(Path(sys.executable).with_name("dbt")),
        ),
    }
