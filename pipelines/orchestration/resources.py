"""Dagster resources: the build database, the source client (raw store + fetcher) and dbt."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
import sys
from pathlib import Path

import dagster as dg
import duckdb
from dagster_dbt import DbtCliResource

from pipelines.orchestration.dbt_project import dbt_project
from pipelines.settings import DataHome, data_home, mirror
from pipelines.sources.fetch import Fetcher
from pipelines.sources.snapshots import RawStore

SAMPLE_MARKER = "SAMPLE_DATA"


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB build database under the data home (published by the publish asset).

    `home` overrides TERRITOIRES_HOME; empty means read the environment at run time.
    """

    home: str = ""

    def data_home(self) -> DataHome:
        return (DataHome(Path(self.home).resolve()) if self.home else data_home()).ensure()

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

    def fetcher(self, home: DataHome) -> Fetcher:
        return Fetcher(self.store(home), mirror=self.mirror or mirror(), offline=self.offline)


def default_resources(*, home: str = "", offline: bool = False, source_mirror: str = "") -> dict[str, object]:
    """The resources every run uses; the CLI passes its flags through here."""
    return {
        "warehouse": WarehouseResource(home=home),
        "sources": SourceClient(mirror=source_mirror, offline=offline),
        "dbt": DbtCliResource(
            project_dir=dbt_project,
            profiles_dir=str(dbt_project.profiles_dir),
            # The venv's dbt, whether or not the venv is on PATH.
            dbt_executable=str(Path(sys.executable).with_name("dbt")),
        ),
    }
