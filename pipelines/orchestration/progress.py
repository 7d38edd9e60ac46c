"""Progress of a run as it happens, for whoever started it in this process.

Assets report what they do (`report("source", …)`); a command-line build listens and
prints one line per event. In a run launched by the daemon nobody listens and reports go
nowhere: Dagster's own log (the run's event log) has the full story there.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

Listener = Callable[[str, dict[str, Any]], None]

_listeners: list[Listener] = []
_guard = threading.Lock()


def report(kind: str, **fields: Any) -> None:
    """Tell the listeners of this process that something happened (never raises)."""
    with _guard:
        listeners = list(_listeners)
    for listener in listeners:
        try:
            listener(kind, fields)
        except Exception:  # noqa: BLE001 - a broken display must not break the build
            pass


@contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Receive every report made in this process while the block runs."""
    with _guard:
        _listeners.append(listener)
    try:
        yield
    finally:
        with _guard:
            _listeners.remove(listener)
