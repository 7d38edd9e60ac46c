"""Serve an atlas folder on 127.0.0.1 (the pages also work opened from disk)."""

from __future__ import annotations

import functools
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
        pass


def atlas_server(folder: Path, port: int = 8765) -> ThreadingHTTPServer:
    """A server of the folder on 127.0.0.1:port (0: any free port); call serve_forever() on it."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    return ThreadingHTTPServer(("127.0.0.1", port), handler)
