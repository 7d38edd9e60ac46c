"""Downloading source files into the raw store.

``Fetcher.fetch`` streams a file over HTTP (or copies it from a mirror) into a
temporary file next to its final place, checks that the content looks like
the expected format, and stores it as a new snapshot only when it differs
from the latest one. Conditional requests (ETag / Last-Modified) avoid
downloading unchanged files again; transient errors are retried with
exponential backoff. Expected failures never raise: they are reported in the
returned ``FetchResult`` and in ``raw/fetch_log.jsonl``, and the snapshots
already stored are left untouched.
"""

from __future__ import annotations

import hashlib
import sys
import time
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Callable
from urllib.parse import quote

import httpx
from tqdm import tqdm

from pipelines.sources import failpoints
from pipelines.sources.durable import write_chunk
from pipelines.sources.secrets import expand, redact

from .errors import FetchError, SourceError, UnexpectedContentError
from .snapshots import CHUNK_SIZE, RawStore, Snapshot

USER_AGENT = "territoires/0.1"

FORMAT_LABELS = {
    "csv": "CSV",
    "json": "JSON",
    "json.gz": "gzipped JSON",
    "geojson": "GeoJSON",
    "geojson.gz": "gzipped GeoJSON",
    "zip": "ZIP",
    "tgz": "gzipped tar",
    "xlsx": "Excel (.xlsx)",
    "xls": "Excel (.xls)",
    "parquet": "Parquet",
    "txt": "text",
    "lzma": "LZMA-compressed",
}

# First bytes every file of these formats starts with.
MAGIC = {
    "zip": b"PK\x03\x04",
    "xlsx": b"PK\x03\x04",
    "tgz": b"\x1f\x8b",
    "json.gz": b"\x1f\x8b",
    "geojson.gz": b"\x1f\x8b",
    "parquet": b"PAR1",
    "xls": b"\xd0\xcf\x11\xe0",
    "lzma": (b"\x5d\x00\x00", b"\xfd7zXZ\x00"),  # .lzma files are LZMA-alone or xz
}

# Binary signatures that must not appear at the start of a text file.
BINARY_SIGNATURES = [
    (b"PK\x03\x04", "a ZIP archive"),
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"PAR1", "a Parquet file"),
    (b"\xd0\xcf\x11\xe0", "an old-style Excel/OLE file"),
    (b"%PDF", "a PDF document"),
]

TEXT_FORMATS = ("csv", "json", "geojson", "txt")
# Formats where a JSON object at the start of the file means an error message.
JSON_REFUSED = ("csv", "zip", "xlsx", "xls", "tgz", "parquet", "txt", "lzma")

_SUFFIXES = [
    (".json.gz", "json.gz"),
    (".geojson.gz", "geojson.gz"),
    (".tar.gz", "tgz"),
    (".tgz", "tgz"),
    (".csv", "csv"),
    (".geojson", "geojson"),
    (".json", "json"),
    (".zip", "zip"),
    (".xlsx", "xlsx"),
    (".xls", "xls"),
    (".parquet", "parquet"),
    (".txt", "txt"),
    (".lzma", "lzma"),
]

_INGEST_HINT = "download the file by hand and add it with `territoires ingest`"


# --------------------------------------------------------------------- content


def guess_format(file_name: str) -> str | None:
    """Guess the expected format from a file name suffix, or return None."""
    lower = file_name.lower()
    for suffix, fmt in _SUFFIXES:
        if lower.endswith(suffix):
            return fmt
    return None


def check_content(
    path: Path,
    expected_format: str | None,
    content_type: str | None = None,
    *,
    source: str | None = None,
    vintage: str | None = None,
    file_name: str | None = None,
    url: str | None = None,
) -> None:
    """Check that the file at ``path`` looks like ``expected_format``.

    Looks at the first bytes (and the HTTP Content-Type when known) to catch
    the usual ways a download goes wrong: an empty body, an HTML page (moved
    URL, login or error page), a JSON or XML error message, or a file that
    lacks the signature of its format. With ``expected_format=None`` only the
    format-independent checks are made. Raises ``UnexpectedContentError``.
    """
    context = {"source": source, "vintage": vintage, "file_name": file_name, "url": url}
    label = FORMAT_LABELS.get(expected_format or "", "data")
    mime = (content_type or "").split(";")[0].strip().lower()

    with open(path, "rb") as handle:
        head = handle.read(4096)
    if not head:
        raise UnexpectedContentError(f"the file is empty (0 bytes); {_INGEST_HINT} if it persists", **context)

    magic = MAGIC.get(expected_format or "")
    if magic and head.startswith(magic):  # bytes.startswith takes one prefix or a tuple
        if head.startswith(b"PK\x03\x04") and not zipfile.is_zipfile(path):
            # A ZIP ends with its directory: a body cut short (no Content-Length to tell) has none.
            raise UnexpectedContentError(
                f"the {label} file is not whole: it has no central directory at its end (a download cut "
                f"short, or not a {label} archive at all); {_INGEST_HINT} if it persists",
                **context,
            )
        return  # the signature settles it, whatever the server claims

    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if mime == "text/html" or text[:14].lower().startswith((b"<!doctype html", b"<html")):
        raise UnexpectedContentError(
            f"got an HTML page instead of a {label} file; the URL may have moved or may now lead to a "
            f"landing or error page. Open it in a browser, fix the URL, or {_INGEST_HINT}.",
            **context,
        )
    if text.startswith(b"<?xml") and expected_format in JSON_REFUSED + ("json", "geojson"):
        raise UnexpectedContentError(
            f"got an XML document instead of a {label} file (often an error message from the "
            f"server): {_excerpt(text)}",
            **context,
        )
    if expected_format in JSON_REFUSED and (text.startswith(b"{") or mime == "application/json"):
        raise UnexpectedContentError(
            f"got a JSON document instead of a {label} file, probably an error message: "
            f"{_excerpt(text)}. Check the URL (an API key or parameter may be missing).",
            **context,
        )
    if magic:
        raise UnexpectedContentError(
            f"the file is not a valid {label} file: it starts with {head[:8]!r} instead of {magic!r}. "
            f"Check the URL, or {_INGEST_HINT}.",
            **context,
        )
    if expected_format in TEXT_FORMATS:
        for signature, description in BINARY_SIGNATURES:
            if head.startswith(signature):
                raise UnexpectedContentError(
                    f"got {description} instead of a {label} file; check the expected format "
                    f"in the source catalogue.",
                    **context,
                )
    if expected_format in ("json", "geojson") and not text.startswith((b"{", b"[")):
        raise UnexpectedContentError(f"the file is not {label}: it starts with {_excerpt(text)}", **context)


def write_failure(exc: OSError, path: Path | None = None) -> str:
    """An error writing under the data home, naming the file: `could not write … (No space left on device)`."""
    where = exc.filename or path or "a file of the data home"
    return (
        f"could not write {where} ({exc.strerror or exc}); nothing stored before was changed: "
        "free space on the data home's disk and fetch again"
    )


def _excerpt(data: bytes, limit: int = 200) -> str:
    """Return the first ``limit`` characters of ``data`` as a quoted string."""
    text = data.decode("utf-8", errors="replace")
    shortened = text[:limit] + ("…" if len(text) > limit else "")
    return repr(shortened)


# -------------------------------------------------------------- requests


@dataclass(frozen=True)
class FetchRequest:
    """One file to get: where it belongs in the store, where to find it, what it should be."""

    source: str
    vintage: str
    file_name: str
    url: str | None
    expected_format: str  # one of FORMAT_LABELS

    def __post_init__(self) -> None:
        if self.expected_format not in FORMAT_LABELS:
            raise ValueError(
                f"unknown expected_format {self.expected_format!r} for {self.file_name}; "
                f"expected one of {', '.join(FORMAT_LABELS)}"
            )


@dataclass(frozen=True)
class FetchResult:
    """Outcome of ``Fetcher.fetch``.

    ``status`` is 'downloaded' (new snapshot), 'not_modified' (HTTP 304),
    'unchanged' (same content as a stored snapshot), 'cached' (offline mode),
    'not_cached' (offline mode, no snapshot yet) or 'failed' (then ``error``
    explains why and ``snapshot`` is None).
    """

    request: FetchRequest
    status: str
    snapshot: Snapshot | None
    error: str | None


class _Retryable(Exception):
    """A failure worth trying again (connection problem, 429, 5xx, cut-off body)."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def parse_retry_after(value: str | None) -> float | None:
    """Return the wait asked by a Retry-After header (seconds or HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


class Fetcher:
    """Gets source files into a ``RawStore``: live HTTP, a mirror, or the cache when offline.

    ``mirror`` is either an http(s) base URL or a local folder laid out as
    ``<source>/<vintage>/<file_name>``; when set, it replaces the live URLs.
    Timeouts are applied to every request, including with an injected
    ``client``. ``sleep`` is called between retries (injectable for tests).
    """

    def __init__(
        self,
        store: RawStore,
        *,
        mirror: str | None = None,
        offline: bool = False,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        retries: int = 4,
        backoff: float = 1.0,
        max_bytes: int = 5 * 1024**3,
        progress: bool | None = None,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_retry_wait: float = 60.0,
    ) -> None:
        self.store = store
        self.mirror = mirror
        self.offline = offline
        self.timeout = httpx.Timeout(read_timeout, connect=connect_timeout)
        self.retries = retries
        self.backoff = backoff
        self.max_bytes = max_bytes
        self.progress = progress
        self.sleep = sleep
        self.max_retry_wait = max_retry_wait
        self._own_client = client is None
        self.client = client or httpx.Client(follow_redirects=True, headers={"User-Agent": USER_AGENT})

    def close(self) -> None:
        """Close the HTTP client if this fetcher created it."""
        if self._own_client:
            self.client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # ------------------------------------------------------------ public

    def fetch(self, req: FetchRequest) -> FetchResult:
        """Get one file and store it as a snapshot if it is new.

        Never raises for an expected failure (network, HTTP, bad content):
        returns ``status='failed'`` with an explanation instead. Every call
        is logged in the store's fetch log.
        """
        if self.offline:
            return self._from_cache(req)

        location, origin = self._location(req)
        try:
            if location is None:
                raise FetchError(
                    f"no URL is known for this file; add one to the source catalogue or {_INGEST_HINT}",
                    **self._context(req),
                )
            previous = self._current(req)
            if origin == "mirror" and not location.startswith(("http://", "https://")):
                result = self._copy_from_folder(req, Path(location), previous)
            else:
                result = self._download(req, location, origin, previous)
            # What upstream serves now is the vintage's current file, even an older one again.
            self.store.record_served(result.snapshot)
            return result
        except SourceError as exc:
            status = "invalid" if isinstance(exc, UnexpectedContentError) else "failed"
            error = redact(str(exc))  # an HTTP library's message may quote the URL it was given
            self._log(req, location, origin, status, error=error)
            return FetchResult(req, "failed", None, error)
        except OSError as exc:  # the data home's disk: full, read-only, out of inodes
            error = f"{req.source} {req.vintage} {req.file_name}: {write_failure(exc)}"
            try:
                self._log(req, location, origin, "failed", error=error)
            except OSError:
                pass  # the fetch log is on the same disk
            return FetchResult(req, "failed", None, error)

    def ingest_file(
        self,
        source: str,
        vintage: str,
        path: Path,
        file_name: str | None = None,
        expected_format: str | None = None,
    ) -> Snapshot:
        """Add a file obtained by hand to the store (origin 'manual').

        The file is copied (the original is left in place) and goes through
        the same content checks as a download; the format is guessed from
        the file name when not given. Raises a ``SourceError`` subclass when
        the file is missing or its content is wrong.
        """
        path = Path(path)
        file_name = file_name or path.name
        expected_format = expected_format or guess_format(file_name)
        location = str(path.resolve())
        context = {"source": source, "vintage": vintage, "file_name": file_name, "url": location}
        if not path.is_file():
            raise SourceError(
                "there is no file at this path; check the path given to `territoires ingest`", **context
            )

        log = {"source": source, "vintage": vintage, "file_name": file_name, "url": location, "origin": "manual"}
        tmp = self.store.new_temp_path(source, vintage)
        try:
            sha, _ = self._copy_with_hash(path, tmp, context)
            check_content(tmp, expected_format, **context)
            snapshot, _ = self.store.add_file(
                source, vintage, tmp, file_name, url=location, origin="manual", sha256=sha
            )
        except SourceError as exc:
            status = "invalid" if isinstance(exc, UnexpectedContentError) else "failed"
            self.store.log_attempt(**log, status=status, error=str(exc))
            raise
        finally:
            tmp.unlink(missing_ok=True)
        self.store.log_attempt(**log, status="ingested", sha256=snapshot.sha256, bytes=snapshot.bytes)
        return snapshot

    # ----------------------------------------------------------- helpers

    @staticmethod
    def _context(req: FetchRequest, url: str | None = None) -> dict:
        return {
            "source": req.source,
            "vintage": req.vintage,
            "file_name": req.file_name,
            "url": url or req.url,
        }

    def _location(self, req: FetchRequest) -> tuple[str | None, str]:
        """Return where to get the file from and the matching origin."""
        if not self.mirror:
            return req.url, "live"
        parts = (req.source, req.vintage, req.file_name)
        if self.mirror.startswith(("http://", "https://")):
            return self.mirror.rstrip("/") + "/" + "/".join(quote(p) for p in parts), "mirror"
        folder = self.mirror.removeprefix("file://")
        return str(Path(folder, *parts)), "mirror"

    def _log(
        self,
        req: FetchRequest,
        url: str | None,
        origin: str,
        status: str,
        snapshot: Snapshot | None = None,
        error: str | None = None,
    ) -> None:
        self.store.log_attempt(
            source=req.source,
            vintage=req.vintage,
            file_name=req.file_name,
            url=url,
            origin=origin,
            status=status,
            sha256=snapshot.sha256 if snapshot else None,
            bytes=snapshot.bytes if snapshot else None,
            etag=snapshot.etag if snapshot else None,
            error=error,
        )

    def _current(self, req: FetchRequest) -> Snapshot | None:
        """The snapshot the file served at its latest successful fetch (else its newest usable one)."""
        entry = (self.store.served(req.source, req.vintage) or {}).get(req.file_name)
        if entry:
            snapshot = self.store.find(req.source, req.vintage, req.file_name, entry["sha256"])
            if snapshot is not None:
                return snapshot
        return self.store.latest(req.source, req.vintage, req.file_name)

    def _show_progress(self) -> bool:
        if self.progress is not None:
            return self.progress
        return sys.stderr.isatty()

    def _from_cache(self, req: FetchRequest) -> FetchResult:
        """Offline mode: return the latest usable snapshot without any network access."""
        snapshot = self.store.latest(req.source, req.vintage, req.file_name)
        if snapshot is not None:
            self._log(req, snapshot.url, "offline", "cached", snapshot)
            return FetchResult(req, "cached", snapshot, None)
        error = (
            f"no cached snapshot of {req.source} {req.vintage} {req.file_name}; "
            f"run `territoires ingest` with a copy of the file, or build without --offline"
        )
        # nothing was attempted: no line in the fetch log
        return FetchResult(req, "not_cached", None, error)

    def _store(
        self,
        req: FetchRequest,
        tmp: Path,
        sha: str,
        url: str,
        origin: str,
        previous: Snapshot | None,
        content_type: str | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> FetchResult:
        """Check a complete temporary file and turn it into a snapshot if it is new."""
        context = self._context(req, url)
        check_content(tmp, req.expected_format, content_type, **context)
        if previous is not None and previous.sha256 == sha:
            tmp.unlink()
            self._log(req, url, origin, "unchanged", previous)
            return FetchResult(req, "unchanged", previous, None)

        snapshot, created = self.store.add_file(
            req.source, req.vintage, tmp, req.file_name,
            url=url, etag=etag, last_modified=last_modified, origin=origin, sha256=sha,
        )
        # A version stored before (even one found invalid: ingestion says so, and checks it
        # again if the reader changed since) is served again: no new snapshot.
        status = "downloaded" if created else "unchanged"
        self._log(req, url, origin, status, snapshot)
        return FetchResult(req, status, snapshot, None)

    # ------------------------------------------------------ local mirror

    def _copy_with_hash(self, src: Path, tmp: Path, context: dict) -> tuple[str, int]:
        """Copy ``src`` to ``tmp`` chunk by chunk; return (sha256, size)."""
        digest = hashlib.sha256()
        size = 0
        with open(src, "rb") as reader, open(tmp, "wb") as writer:
            while chunk := reader.read(CHUNK_SIZE):
                size += len(chunk)
                if size > self.max_bytes:
                    raise FetchError(
                        f"the file is larger than the limit of {self.max_bytes} bytes", **context
                    )
                digest.update(chunk)
                write_chunk(writer, chunk, tmp)
                failpoints.reach("fetch.chunk")
        return digest.hexdigest(), size

    def _copy_from_folder(self, req: FetchRequest, path: Path, previous: Snapshot | None) -> FetchResult:
        context = self._context(req, str(path))
        if not path.is_file():
            raise FetchError(
                f"the mirror has no file at {path}; add it there (layout <source>/<vintage>/<file>) "
                f"or build without --mirror",
                **context,
            )
        tmp = self.store.new_temp_path(req.source, req.vintage)
        try:
            sha, _ = self._copy_with_hash(path, tmp, context)
            return self._store(req, tmp, sha, str(path), "mirror", previous)
        finally:
            tmp.unlink(missing_ok=True)

    # -------------------------------------------------------------- HTTP

    def _download(self, req: FetchRequest, url: str, origin: str, previous: Snapshot | None) -> FetchResult:
        """Download with retries on transient failures."""
        headers = {"User-Agent": USER_AGENT}
        if previous is not None and previous.url == url:
            if previous.etag:
                headers["If-None-Match"] = previous.etag
            if previous.last_modified:
                headers["If-Modified-Since"] = previous.last_modified
        if req.expected_format not in TEXT_FORMATS:
            # Keep compressed formats byte for byte, even from servers that
            # wrongly label a .gz file with Content-Encoding: gzip.
            headers["Accept-Encoding"] = "identity"

        attempt = 1
        while True:
            try:
                return self._attempt(req, url, origin, headers, previous)
            except _Retryable as exc:
                if attempt > self.retries:
                    tries = "try" if attempt == 1 else "tries"
                    raise FetchError(
                        f"{exc.reason}; gave up after {attempt} {tries}. The server or the connection "
                        f"may be failing: try again later, or {_INGEST_HINT}.",
                        **self._context(req, url),
                    ) from exc
                wait = exc.retry_after if exc.retry_after is not None else self.backoff * 2 ** (attempt - 1)
                self.sleep(min(wait, self.max_retry_wait))
                attempt += 1

    def _attempt(
        self, req: FetchRequest, url: str, origin: str, headers: dict, previous: Snapshot | None
    ) -> FetchResult:
        """Make one HTTP request; raise ``_Retryable`` for failures worth repeating."""
        context = self._context(req, url)
        try:
            with self.client.stream(
                "GET", expand(url), headers=headers, timeout=self.timeout, follow_redirects=True
            ) as response:
                code = response.status_code
                if code == 304 and previous is not None:
                    self._log(req, url, origin, "not_modified", previous)
                    return FetchResult(req, "not_modified", previous, None)
                if code == 429 or code >= 500:
                    raise _Retryable(
                        f"the server answered HTTP {code} {response.reason_phrase}",
                        parse_retry_after(response.headers.get("Retry-After")),
                    )
                if code != 200:
                    advice = (
                        "the file may have moved or been removed: check the URL"
                        if code in (404, 410)
                        else "check the URL and whether the file needs an account or a key"
                    )
                    raise FetchError(
                        f"the server answered HTTP {code} {response.reason_phrase}; {advice}, "
                        f"or {_INGEST_HINT}.",
                        **context,
                    )
                return self._receive(req, response, url, origin, previous)
        except httpx.TimeoutException as exc:
            raise _Retryable(f"the connection timed out ({type(exc).__name__})") from exc
        except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            raise _Retryable(f"network error: {exc}") from exc
        except httpx.HTTPError as exc:
            raise FetchError(f"the request failed: {exc}", **context) from exc

    def _receive(
        self, req: FetchRequest, response: httpx.Response, url: str, origin: str, previous: Snapshot | None
    ) -> FetchResult:
        """Stream a 200 response into a temporary file, then store it."""
        context = self._context(req, url)
        announced = response.headers.get("Content-Length")
        expected = int(announced) if announced and announced.isdigit() else None
        if expected is not None and expected > self.max_bytes:
            raise FetchError(
                f"the server announces {expected} bytes, more than the limit of {self.max_bytes} bytes",
                **context,
            )
        # Decoded bytes for text formats (transparent compression), raw bytes otherwise.
        if req.expected_format in TEXT_FORMATS:
            chunks = response.iter_bytes(CHUNK_SIZE)
        else:
            chunks = response.iter_raw(CHUNK_SIZE)

        tmp = self.store.new_temp_path(req.source, req.vintage)
        digest = hashlib.sha256()
        size = 0
        try:
            with open(tmp, "wb") as out, tqdm(
                total=expected,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=req.file_name,
                file=sys.stderr,
                leave=False,
                disable=not self._show_progress(),
            ) as bar:
                try:
                    for chunk in chunks:
                        size += len(chunk)
                        if size > self.max_bytes:
                            raise FetchError(
                                f"the download exceeds the limit of {self.max_bytes} bytes", **context
                            )
                        digest.update(chunk)
                        write_chunk(out, chunk, tmp)
                        bar.update(len(chunk))
                        failpoints.reach("fetch.chunk")
                except httpx.RemoteProtocolError as exc:
                    if expected is not None:
                        raise _Retryable(
                            f"truncated: received {response.num_bytes_downloaded} of {expected} bytes"
                        ) from exc
                    raise
            if expected is not None and response.num_bytes_downloaded != expected:
                raise _Retryable(f"truncated: received {response.num_bytes_downloaded} of {expected} bytes")
            return self._store(
                req, tmp, digest.hexdigest(), url, origin, previous,
                content_type=response.headers.get("Content-Type"),
                etag=response.headers.get("ETag"),
                last_modified=response.headers.get("Last-Modified"),
            )
        finally:
            tmp.unlink(missing_ok=True)
