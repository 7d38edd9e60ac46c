"""A small local HTTP server for tests that must not touch the network.

Usage::

    from http_fixtures import Reply, serve

    with serve(directory=tmp_path) as server:          # serve files
        url = server.url("/insee/2024/communes.csv")

    with serve(routes={"/f.csv": [Reply(503, {"Retry-After": "3"}), Reply(200, body=b"a,b\\n")]}) as server:
        ...
        server.requests                                # what the server received

Scripted replies for a path are used in order; the last one is repeated once
the list is exhausted. ``Reply(truncate_to=n)`` announces the full
Content-Length but sends only ``n`` bytes of the body before closing the
connection (``reset=True``: with a TCP reset); ``Reply(delay=s)`` waits ``s``
seconds before answering, ``Reply(stall=(n, s))`` after ``n`` body bytes;
``framing="chunked"`` or ``"close"`` sends the body without a Content-Length.
Test modules can also import the ``http_server`` fixture.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator, Union

import pytest


@dataclass
class Reply:
    """One scripted HTTP response."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    truncate_to: int | None = None  # send only this many body bytes, then close
    delay: float = 0.0  # seconds to wait before answering (to trigger read timeouts)
    framing: str = "length"  # "length" (Content-Length), "chunked", or "close" (the body ends with the connection)
    reset: bool = False  # end a truncated body with a TCP reset instead of a clean close
    stall: tuple[int, float] | None = None  # (bytes, seconds): send that many body bytes, then wait


@dataclass
class RecordedRequest:
    """A request received by the server."""

    method: str
    path: str
    headers: dict[str, str]
    query: str = ""


ReplySpec = Union[Reply, tuple]


def _as_reply(spec: ReplySpec) -> Reply:
    if isinstance(spec, Reply):
        return spec
    status, headers, body, *rest = spec
    return Reply(status, dict(headers or {}), body, rest[0] if rest else None)


class LocalServer:
    """A threaded HTTP server on 127.0.0.1 with a random free port."""

    def __init__(self, directory: Path | None = None, routes: dict[str, list[ReplySpec]] | None = None) -> None:
        self.directory = Path(directory) if directory is not None else None
        self.requests: list[RecordedRequest] = []
        self._routes: dict[str, list[Reply]] = {}
        self._lock = threading.Lock()
        for path, replies in (routes or {}).items():
            self.script(path, replies)
        handler = partial(_Handler, directory=str(self.directory or Path.cwd()))
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._httpd.local_server = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        """Return the full URL of ``path`` on this server."""
        return self.base_url + "/" + path.lstrip("/")

    def script(self, path: str, replies: list[ReplySpec]) -> None:
        """Set (or replace) the scripted replies for ``path``."""
        if not replies:
            raise ValueError("a scripted path needs at least one reply")
        with self._lock:
            self._routes["/" + path.lstrip("/")] = [_as_reply(r) for r in replies]

    def requests_for(self, path: str) -> list[RecordedRequest]:
        """Return the requests received for ``path``."""
        wanted = "/" + path.lstrip("/")
        return [r for r in self.requests if r.path == wanted]

    def _next_reply(self, path: str) -> Reply | None:
        with self._lock:
            replies = self._routes.get(path)
            if not replies:
                return None
            return replies.pop(0) if len(replies) > 1 else replies[0]

    def start(self) -> LocalServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


class _Handler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        self._handle(send_body=True)

    def do_HEAD(self) -> None:
        self._handle(send_body=False)

    def _handle(self, send_body: bool) -> None:
        server: LocalServer = self.server.local_server
        path, _, query = self.path.partition("?")
        server.requests.append(RecordedRequest(self.command, path, dict(self.headers.items()), query))
        reply = server._next_reply(path)
        if reply is not None:
            self._send_reply(reply, send_body)
        elif server.directory is not None:
            super().do_GET() if send_body else super().do_HEAD()
        else:
            self._send_reply(Reply(404, {"Content-Type": "text/plain"}, b"not found"), send_body)

    def _send_reply(self, reply: Reply, send_body: bool) -> None:
        if reply.delay:
            time.sleep(reply.delay)
        self.send_response(reply.status)
        headers = {k.lower(): v for k, v in reply.headers.items()}
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if reply.framing == "chunked":
            self.send_header("Transfer-Encoding", "chunked")
        elif reply.framing == "close":
            self.send_header("Connection", "close")
            self.close_connection = True
        elif "content-length" not in headers and reply.status not in (204, 304):
            self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if send_body and reply.status not in (204, 304):
            body = reply.body if reply.truncate_to is None else reply.body[: reply.truncate_to]
            if reply.stall:
                sent, seconds = reply.stall
                self._write(body[:sent], reply.framing)
                self.wfile.flush()
                time.sleep(seconds)
                body = body[sent:]
            self._write(body, reply.framing)
            if reply.framing == "chunked" and reply.truncate_to is None:
                self.wfile.write(b"0\r\n\r\n")
        if reply.truncate_to is not None:
            self.wfile.flush()
            self.close_connection = True
            if reply.reset:  # SO_LINGER 0: close() sends RST
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    def _write(self, data: bytes, framing: str) -> None:
        if not data:
            return
        if framing == "chunked":
            data = f"{len(data):x}\r\n".encode() + data + b"\r\n"
        self.wfile.write(data)


@contextmanager
def serve(directory: Path | None = None, routes: dict[str, list[ReplySpec]] | None = None) -> Iterator[LocalServer]:
    """Run a ``LocalServer`` for the duration of a ``with`` block."""
    with LocalServer(directory, routes) as server:
        yield server


@pytest.fixture
def http_server() -> Iterator[LocalServer]:
    """A running local server with no routes; add some with ``http_server.script(...)``."""
    with serve() as server:
        yield server
