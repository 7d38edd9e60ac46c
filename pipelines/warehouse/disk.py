"""Free space on the data home's disk: a build does not start on a disk too full to finish it.

A build writes the Dagster run storage, logs, snapshots, the build database, a
candidate copy of the warehouse and the exports. Started on a nearly full disk it would
fail in the middle, in whichever of those writes came first, some of them (Dagster's
SQLite storage) with errors that name no file. `require_free_space` refuses it before
anything is written, and the transformation is refused before dbt when there is no room
for a copy of the build database (publish needs one); a disk that fills later fails the write that hit it, naming the
file, and nothing published or stored before is changed.
"""

from __future__ import annotations

import os
import shutil

from pipelines.settings import DataHome

DEFAULT_MIN_FREE_MB = 256


class NotEnoughSpace(RuntimeError):
    """The data home's disk has less free space than a build needs to start."""


def min_free_bytes() -> int:
    """TERRITOIRES_MIN_FREE_MB: the free space a build needs to start (default 256 MB; 0 turns the check off)."""
    value = os.environ.get("TERRITOIRES_MIN_FREE_MB", str(DEFAULT_MIN_FREE_MB)).strip()
    try:
        megabytes = float(value)
    except ValueError:
        raise ValueError(f"TERRITOIRES_MIN_FREE_MB must be a number of megabytes, not {value!r}") from None
    if not megabytes >= 0:  # also NaN
        raise ValueError(f"TERRITOIRES_MIN_FREE_MB must be 0 or more, not {value!r}")
    return int(megabytes * 1_000_000)


def require_free_space(home: DataHome, *, also: int = 0, what: str = "a build") -> None:
    """Raise NotEnoughSpace when the data home's disk has less free space than min_free_bytes() + `also` bytes."""
    need = min_free_bytes() + also
    free = shutil.disk_usage(home.root).free
    if free < need:
        raise NotEnoughSpace(
            f"the disk of the data home {home.root} has {free / 1e6:.1f} MB free, less than the "
            f"{need / 1e6:.0f} MB {what} needs to start (TERRITOIRES_MIN_FREE_MB"
            f"{' plus the size of the build database' if also else ''}); nothing was written. "
            f"Free some space (older exports under {home.exports}, logs under {home.logs}) and build again."
        )
