"""The dbt project, declared once, and a guard that keeps its manifest current."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from dagster_dbt import DbtProject

from pipelines.settings import DBT_PROJECT_DIR, data_home, quiet_telemetry

quiet_telemetry()

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)

_SOURCES = ("models", "macros", "seeds", "tests", "dbt_project.yml", "profiles.yml")


def _newest_source_mtime(project_dir: Path) -> float:
    newest = 0.0
    for name in _SOURCES:
        path = project_dir / name
        files = [path] if path.is_file() else path.rglob("*")
        newest = max([newest, *(f.stat().st_mtime for f in files if f.is_file())])
    return newest


def _is_current(manifest: Path, project_dir: Path) -> bool:
    return manifest.exists() and manifest.stat().st_mtime >= _newest_source_mtime(project_dir)


def ensure_manifest(project_dir: Path = DBT_PROJECT_DIR) -> Path:
    """Run `dbt parse` when the manifest is missing or older than the project's files.

    Loading the Dagster definitions needs the manifest; parsing only when something
    changed keeps every command (CLI, UI, tests) from paying dbt's start-up each time.
    Several processes may start at once on a fresh checkout (the daemon, a build, a
    query): one parses, under a lock, into a folder of its own, and the finished
    manifest replaces the old one in one rename, so no process reads half a file.
    """
    from filelock import FileLock

    target = project_dir / "target"
    manifest = target / "manifest.json"
    if _is_current(manifest, project_dir):
        return manifest
    target.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target / ".parse.lock")):
        if _is_current(manifest, project_dir):  # parsed by the process we waited for
            return manifest
        env = {**os.environ, "TERRITOIRES_WORK_DB": str(data_home().work_db)}
        dbt = Path(sys.executable).with_name("dbt")
        with tempfile.TemporaryDirectory(prefix="parse-", dir=target) as private:
            result = subprocess.run(
                [str(dbt), "parse", "--quiet", "--project-dir", str(project_dir), "--profiles-dir", str(project_dir),
                 "--target-path", private],
                env=env,
                capture_output=True,
                text=True,
            )
            if result.returncode != 0:
                raise RuntimeError(f"dbt parse failed for {project_dir}:\n{result.stdout}\n{result.stderr}")
            for name in ("partial_parse.msgpack", "semantic_manifest.json", "manifest.json"):  # manifest last
                if (Path(private) / name).exists():
                    os.replace(Path(private) / name, target / name)
    return manifest
