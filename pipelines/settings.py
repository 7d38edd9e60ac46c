"""Where territoires keeps its data, read from the environment each time it is asked.

`TERRITOIRES_HOME` (default `./data`) holds raw snapshots, the build database, the
published warehouse, exports and Dagster's own storage.
"""

from __future__ import annotations

import importlib.metadata
import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"


@dataclass(frozen=True)
class DataHome:
    """Every path under one data home."""

    root: Path

    @property
    def raw(self) -> Path:
        return self.root / "raw"

    @property
    def work_db(self) -> Path:
        # The catalog name DuckDB gives a file is its stem: the build file and the
        # published file are both named warehouse.duckdb so dbt's fully qualified
        # view definitions stay valid after publishing.
        return self.root / "work" / "warehouse.duckdb"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def builds(self) -> Path:
        return self.root / "builds"

    @property
    def exports(self) -> Path:
        return self.root / "exports"

    @property
    def atlas(self) -> Path:
        return self.root / "atlas"

    @property
    def dagster_home(self) -> Path:
        return self.root / "dagster"

    @property
    def docs(self) -> Path:
        return self.root / "docs"

    @property
    def logs(self) -> Path:
        """One log file per build started from the command line (Dagster's full log)."""
        return self.root / "logs"

    @property
    def lock_file(self) -> Path:
        """Held (flock) by whatever writes the build database, publishes or adds snapshots."""
        return self.root / "territoires.lock"

    @property
    def transform_marker(self) -> Path:
        """Present while dbt rewrites the build database: a build killed then left it half done."""
        return self.root / "work" / "dbt_running"

    def ensure(self) -> "DataHome":
        """Create the folders that must exist before anything runs."""
        for path in (self.raw, self.work_db.parent, self.builds, self.exports, self.dagster_home):
            path.mkdir(parents=True, exist_ok=True)
        return self


def package_version() -> str:
    """The installed version of territoires (part of every fingerprint)."""
    try:
        return importlib.metadata.version("territoires")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"


def keep_exports() -> int:
    """TERRITOIRES_KEEP_EXPORTS: how many builds' exports stay under exports/ (default 5)."""
    value = os.environ.get("TERRITOIRES_KEEP_EXPORTS", "5").strip()
    try:
        return max(1, int(value))
    except ValueError:
        raise ValueError(f"TERRITOIRES_KEEP_EXPORTS must be a whole number of builds, not {value!r}") from None


def data_home() -> DataHome:
    """The data home named by TERRITOIRES_HOME, or ./data."""
    return DataHome(Path(os.environ.get("TERRITOIRES_HOME", "data")).expanduser().resolve())


def mirror() -> str | None:
    """TERRITOIRES_MIRROR: a directory or http(s) base laid out as <source>/<vintage>/<file>."""
    value = os.environ.get("TERRITOIRES_MIRROR", "").strip()
    return value or None


def quiet_telemetry() -> None:
    """Nothing may phone home: the machines running this are often offline."""
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "true")
