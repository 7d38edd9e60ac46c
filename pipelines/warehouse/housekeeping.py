"""Tidying a data home: what a killed build left behind, and exports of old builds.

Both run only under the data-home lock, when no other writer can be half-way through
writing the files removed.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from pipelines.settings import DataHome

# Temporary names the writers use (see pipelines/sources/snapshots.py, fetch.py, durable.py,
# pipelines/warehouse/publish.py and exports.py): they are only ever renamed into place.
RAW_LEFTOVERS = (".partial-*", "*/.incoming-*", ".tmp-*", "*/.tmp-*")
EXPORT_LEFTOVERS = (".tmp-*", ".latest-*")
BUILD_ID = re.compile(r"^(\d{8}T\d{6}Z-[0-9a-f]{6})")


def remove_leftovers(home: DataHome) -> list[str]:
    """Remove the temporary files of a killed build; returns what was removed, for the log."""
    removed: list[Path] = []
    for candidate in sorted(home.builds.glob("*")) if home.builds.is_dir() else []:
        removed.append(candidate)
    if home.raw.is_dir():
        for vintage_dir in home.raw.glob("*/*"):
            for pattern in RAW_LEFTOVERS:
                removed.extend(vintage_dir.glob(pattern))
        removed.extend(home.raw.glob(".tmp-*"))
    if home.exports.is_dir():
        for pattern in EXPORT_LEFTOVERS:
            removed.extend(home.exports.glob(pattern))
    for pattern in (".tmp-*", "warehouse.duckdb.incoming-*"):
        removed.extend(home.root.glob(pattern))
    for path in removed:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    return [str(path.relative_to(home.root)) for path in removed]


def prune_exports(exports: Path, keep: int) -> list[str]:
    """Keep the exports of the `keep` newest builds (and whatever `latest` points at); returns what went."""
    if not exports.is_dir():
        return []
    latest = (exports / "latest").resolve() if (exports / "latest").is_symlink() else None
    by_build: dict[str, list[Path]] = {}
    for folder in exports.iterdir():
        match = BUILD_ID.match(folder.name)
        if match and folder.is_dir() and not folder.is_symlink():
            by_build.setdefault(match.group(1), []).append(folder)
    kept = set(sorted(by_build)[-keep:]) if keep > 0 else set()
    removed = []
    for build_id, folders in sorted(by_build.items()):
        if build_id in kept:
            continue
        for folder in folders:
            if latest is not None and folder.resolve() == latest:
                continue
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder.name)
    return removed
