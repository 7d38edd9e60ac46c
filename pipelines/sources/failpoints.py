"""Named points where the fault suite kills a build, to prove that a crash there loses nothing.

A build crosses these points while it downloads, loads, runs dbt, copies, stamps and
renames the candidate warehouse, and writes exports. Production never arms them:
`TERRITOIRES_FAILPOINT` is unset and `reach()` returns at once.

    TERRITOIRES_FAILPOINT="publish.copy=3"    SIGKILL the 3rd time publish.copy is reached
    TERRITOIRES_FAILPOINT="dbt.node=12"       SIGKILL when dbt has built its 12th model (dbt still running)
    TERRITOIRES_FAILPOINT="dbt.build+4.5"     SIGKILL 4.5 s after dbt.build is first reached

The kill is SIGKILL, as from the kernel's OOM killer or `systemctl kill`: no handler,
no `finally`, no flush. It takes the process group when this process leads it (the
build and its dbt subprocess die together, as a service's cgroup does), else this
process alone.
"""

from __future__ import annotations

import os
import re
import signal
import threading
from collections import Counter

ENV = "TERRITOIRES_FAILPOINT"
POINTS = (
    "fetch.chunk",  # a chunk of a download (or a mirror copy) written to its temporary file
    "ingest.load",  # inside the transaction that replaces a vintage's raw rows
    "dbt.build",  # dbt build starting on the build database
    "dbt.node",  # a model or seed built by dbt, its result read while dbt goes on
    "publish.copy",  # a chunk of the build database copied to the candidate
    "publish.stamp",  # meta.about written into the candidate, not checkpointed yet
    "publish.rename",  # the candidate on the disk, just before it is renamed over the warehouse
    "publish.renamed",  # just after the rename, before the candidate's folder is removed
    "exports.file",  # an export file written in the temporary export folder
    "exports.switch",  # the export folder in place, `latest` not switched yet
)
_SPEC = re.compile(r"(?P<point>[a-z.]+)(?:=(?P<hit>[0-9]+)|\+(?P<delay>[0-9]+(?:\.[0-9]+)?))")


class FailpointError(ValueError):
    """TERRITOIRES_FAILPOINT does not name a point and when to fire."""


def _armed(text: str) -> tuple[str, int | None, float | None] | None:
    if not text:
        return None
    match = _SPEC.fullmatch(text.strip())
    if not match or match["point"] not in POINTS:
        raise FailpointError(
            f"{ENV}={text!r}: write POINT=HIT or POINT+SECONDS, POINT one of {', '.join(POINTS)}"
        )
    return match["point"], int(match["hit"]) if match["hit"] else None, float(match["delay"]) if match["delay"] else None


_ARMED = _armed(os.environ.get(ENV, ""))
_hits: Counter[str] = Counter()


def kill_now() -> None:
    """SIGKILL the process group this process leads, or this process."""
    if os.getpgrp() == os.getpid():
        os.killpg(os.getpgrp(), signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)


def reach(point: str) -> None:
    """Mark that the build reached `point`; kills it there when the fault suite armed that point."""
    if _ARMED is None or _ARMED[0] != point:
        return
    _hits[point] += 1
    _, hit, delay = _ARMED
    if hit is not None and _hits[point] >= hit:
        kill_now()
    if delay is not None and _hits[point] == 1:
        timer = threading.Timer(delay, kill_now)
        timer.daemon = True
        timer.start()
