"""The data-home lock: one writer at a time on a data home, released by the OS if it dies.

Whatever writes the build database, publishes, or adds snapshots (a build started from the
command line, a run launched by the Dagster daemon or the UI, `territoires ingest`) holds
an exclusive `flock` on `<data home>/territoires.lock`. The lock file says who holds it
and since when, so a second writer can tell the user what it waits for. Readers (queries,
exports of the published file, the status report, sensors) never take it.

Within one process the lock is re-entrant: a command-line build holds it across the
Dagster runs it executes, and each run's own request for it is then already granted.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

POLL_SECONDS = 0.5


class DataHomeBusy(RuntimeError):
    """Another process holds the data-home lock (and the caller asked not to wait)."""


@dataclass(frozen=True)
class LockHolder:
    """Who holds a data-home lock, as written in the lock file."""

    pid: int | None
    host: str
    command: str
    since: str

    def describe(self) -> str:
        who = f"process {self.pid}" if self.pid else "another process"
        return f"{who} on {self.host} ({self.command}) since {self.since}"


_held: dict[Path, tuple[int, int]] = {}  # lock path -> (file descriptor, depth) in this process
_guard = threading.Lock()


def read_holder(path: Path) -> LockHolder | None:
    """Who holds (or last held) the lock at `path`, from the lock file."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return None
    if not data:
        return None
    return LockHolder(data.get("pid"), data.get("host", "?"), data.get("command", "?"), data.get("since", "?"))


def _describe_self(purpose: str) -> str:
    return purpose or " ".join(Path(a).name if i == 0 else a for i, a in enumerate(sys.argv))[:200]


@contextmanager
def data_home_lock(
    path: Path,
    *,
    wait: bool = True,
    purpose: str = "",
    on_wait: Callable[[LockHolder | None], None] = lambda holder: None,
    on_acquired: Callable[[], None] = lambda: None,
) -> Iterator[bool]:
    """Hold the data-home lock for the duration; yields True when this call took it first.

    With `wait`, blocks until the holder releases it, calling `on_wait(holder)` once;
    without, raises DataHomeBusy naming the holder. `on_acquired` runs once the lock is
    newly taken (the caller's clean-up of a killed build's leftovers goes there).
    """
    path = Path(path).resolve()
    with _guard:
        if path in _held:
            fd, depth = _held[path]
            _held[path] = (fd, depth + 1)
            reentered = True
        else:
            reentered = False
    if reentered:
        try:
            yield False
        finally:
            with _guard:
                fd, depth = _held[path]
                _held[path] = (fd, depth - 1)
        return

    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _acquire(fd, path, wait=wait, on_wait=on_wait)
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "command": _describe_self(purpose),
            "since": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode(), 0)
        with _guard:
            _held[path] = (fd, 1)
        try:
            on_acquired()
            yield True
        finally:
            with _guard:
                _held.pop(path, None)
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _acquire(fd: int, path: Path, *, wait: bool, on_wait: Callable[[LockHolder | None], None]) -> None:
    told = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            holder = read_holder(path)
            if not wait:
                who = holder.describe() if holder else "another process"
                raise DataHomeBusy(
                    f"the data home {path.parent} is busy: {who} holds its lock ({path}); "
                    "wait for it to finish, or run again without --no-wait to queue behind it"
                ) from None
            if not told:
                on_wait(holder)
                told = True
            time.sleep(POLL_SECONDS)


def is_locked(path: Path) -> LockHolder | None:
    """The holder if some process holds the lock now, else None (does not take it)."""
    path = Path(path)
    if not path.exists():
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return read_holder(path) or LockHolder(None, "?", "?", "?")
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
