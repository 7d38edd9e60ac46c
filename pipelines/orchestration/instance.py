"""The Dagster instance lives under the data home; this puts its settings there."""

from __future__ import annotations

import os
import shutil

from pipelines.settings import PROJECT_ROOT, DataHome

INSTANCE_SETTINGS = PROJECT_ROOT / "dagster.yaml"


def prepare_dagster_home(home: DataHome) -> str:
    """Copy dagster.yaml into <home>/dagster and set DAGSTER_HOME to it; returns the folder."""
    target = home.dagster_home
    target.mkdir(parents=True, exist_ok=True)
    settings = target / "dagster.yaml"
    if not settings.exists() or settings.read_bytes() != INSTANCE_SETTINGS.read_bytes():
        shutil.copyfile(INSTANCE_SETTINGS, settings)
    os.environ["DAGSTER_HOME"] = str(target)
    return str(target)
