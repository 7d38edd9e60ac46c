"""Checking the catalogue's URLs without downloading them (`territoires sources --check`).

Every URL gets one HEAD request, following redirects; when HEAD is refused (405, 403,
501) or answers without a Content-Type or Content-Length, a GET of the first byte
(`Range: bytes=0-0`) whose body is never read. A URL is broken when it cannot be reached,
answers an HTTP error, or serves something whose content type does not fit the file's
format in the catalogue — an HTML page above all (a moved file often redirects to one).

For a weekly or monthly source the discovery URL and the template's current files are
checked; URL patterns with a `{vintage}` placeholder (SIRENE's past months) are not.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import httpx

from .catalogue import Source
from .fetch import USER_AGENT, guess_format

HEAD_REFUSED = (403, 405, 501)
VERDICTS = ("ok", "broken", "no_url")

# What a server may call each format, besides the generic types below.
GENERIC_TYPES = {"application/octet-stream", "binary/octet-stream"}
HTML_TYPES = {"text/html", "application/xhtml+xml"}
FORMAT_TYPES = {
    "csv": {"text/csv", "text/plain", "application/csv", "text/comma-separated-values", "application/vnd.ms-excel"},
    "txt": {"text/plain"},
    "json": {"application/json", "text/json", "text/plain"},
    "geojson": {"application/geo+json", "application/vnd.geo+json", "application/json", "text/plain"},
    "zip": {"application/zip", "application/x-zip-compressed", "application/x-zip"},
    "xlsx": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/zip", "application/vnd.ms-excel"},
    "xls": {"application/vnd.ms-excel", "application/x-msexcel", "application/x-excel"},
    "parquet": {"application/vnd.apache.parquet", "application/x-parquet", "application/parquet"},
    "tgz": {"application/gzip", "application/x-gzip", "application/x-tar", "application/x-gtar", "application/x-compressed-tar"},
    "json.gz": {"application/gzip", "application/x-gzip"},
    "geojson.gz": {"application/gzip", "application/x-gzip"},
    "lzma": {"application/x-lzma", "application/x-xz"},
}


@dataclass(frozen=True)
class Target:
    """One catalogue file (or discovery URL) to check."""

    source: str
    vintage: str  # a listed vintage, 'current' (template's current files) or 'discovery'
    file_name: str
    format: str | None  # None: any content but an HTML page fits
    url: str | None


@dataclass(frozen=True)
class Probe:
    """What the server answered for one URL (no body read)."""

    url: str
    method: str = "HEAD"
    status: int | None = None
    status_text: str = ""
    final_url: str | None = None
    size: int | None = None
    last_modified: str | None = None
    content_type: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class CheckResult:
    """The verdict on one target: 'ok', 'broken' or 'no_url', and why."""

    source: str
    vintage: str
    file_name: str
    format: str | None
    url: str | None
    verdict: str
    reason: str = ""
    status: int | None = None
    final_url: str | None = None
    size: int | None = None
    last_modified: str | None = None
    content_type: str | None = None
    type_fits: bool | None = None  # None: no content type, or an error answer
    method: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


# ------------------------------------------------------------------ targets


def catalogue_targets(sources: Iterable[Source]) -> list[Target]:
    """Every URL the catalogue lists for these sources, one target per file."""
    targets = []
    for source in sources:
        if source.discovery.get("url"):
            url = source.discovery["url"]
            name = urlsplit(url).path.rstrip("/").rpartition("/")[2] or url
            targets.append(Target(source.id, "discovery", name, guess_format(name), url))
        for feed in source.discovery.get("fixed_feeds") or []:
            targets.append(Target(source.id, "fixed", f"{feed['dataset']}.zip", "zip", feed.get("url") or None))
        for f in source.vintage_template.get("current_files", []):
            if "{vintage}" not in (f.get("url") or ""):
                targets.append(Target(source.id, "current", f["name"], f["format"], f.get("url") or None))
        for vintage in source.vintage_ids:
            for f in source.vintages[vintage].files:
                if "{vintage}" not in (f.url or ""):
                    targets.append(Target(source.id, vintage, f.name, f.format, f.url or None))
    return targets


# ------------------------------------------------------------------ HTTP


def make_client(timeout: float = 20.0, workers: int = 8) -> httpx.Client:
    """An HTTP client for checks: redirects followed, the project's user agent, no compression."""
    return httpx.Client(
        timeout=httpx.Timeout(timeout),
        follow_redirects=True,
        headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"},
        limits=httpx.Limits(max_connections=workers),
    )


def probe(client: httpx.Client, url: str) -> Probe:
    """HEAD the URL, or GET its first byte when HEAD is refused or says nothing useful."""
    try:
        method, response = "HEAD", client.head(url)
        useful = "content-type" in response.headers or "content-length" in response.headers
        if response.status_code in HEAD_REFUSED or (response.is_success and not useful):
            method = "GET bytes=0-0"
            with client.stream("GET", url, headers={"Range": "bytes=0-0"}) as response:
                pass  # the body is never read: the connection is closed with it
    except httpx.TimeoutException as exc:
        return Probe(url, error=f"no answer in time ({type(exc).__name__})")
    except httpx.ConnectError as exc:
        return Probe(url, error=f"could not connect: {exc}")
    except httpx.HTTPError as exc:
        return Probe(url, error=f"the request failed: {exc}")
    return Probe(
        url, method, response.status_code, response.reason_phrase, str(response.url), response_size(response),
        response.headers.get("last-modified"), response.headers.get("content-type"),
    )  # fmt: skip


def response_size(response: httpx.Response) -> int | None:
    """The file's size: the total of a Content-Range (range GET), else the Content-Length."""
    if response.status_code == 206:
        total = response.headers.get("content-range", "").rpartition("/")[2]
        return int(total) if total.isdigit() else None
    length = response.headers.get("content-length", "")
    return int(length) if length.isdigit() else None


def check(targets: list[Target], *, timeout: float = 20.0, workers: int = 8) -> Iterator[CheckResult]:
    """Check the targets, `workers` URLs at a time, one request per distinct URL; yields in order."""
    urls = list(dict.fromkeys(t.url for t in targets if t.url))
    with make_client(timeout, workers) as client, ThreadPoolExecutor(max_workers=workers) as pool:
        probes = {url: pool.submit(probe, client, url) for url in urls}
        for target in targets:
            yield judge(target, probes[target.url].result() if target.url else None)


# ------------------------------------------------------------------ verdicts


def mime_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def content_type_fits(fmt: str | None, content_type: str | None) -> bool | None:
    """Whether a Content-Type suits a file of that catalogue format (None: no content type)."""
    mime = mime_type(content_type)
    if not mime:
        return None
    if mime in HTML_TYPES:
        return False
    if mime in GENERIC_TYPES or fmt not in FORMAT_TYPES:
        return True
    return mime in FORMAT_TYPES[fmt]


def judge(target: Target, answer: Probe | None) -> CheckResult:
    """The verdict on a target from what its URL answered."""
    base = dict(source=target.source, vintage=target.vintage, file_name=target.file_name, format=target.format, url=target.url)
    if target.url is None or answer is None:
        return CheckResult(**base, verdict="no_url", reason="no URL in the catalogue: the file is added by hand (`territoires ingest`)")
    # the content type of an error answer says nothing of the file
    fits = content_type_fits(target.format, answer.content_type) if 200 <= (answer.status or 0) < 300 else None
    problem = _problem(target, answer, fits)
    return CheckResult(
        **base, verdict="broken" if problem else "ok", reason=problem or "", status=answer.status,
        final_url=answer.final_url, size=answer.size, last_modified=answer.last_modified,
        content_type=answer.content_type, type_fits=fits, method=answer.method,
    )  # fmt: skip


def _problem(target: Target, answer: Probe, fits: bool | None) -> str | None:
    if answer.error:
        return answer.error
    code = answer.status or 0
    if code in (404, 410):
        return f"HTTP {code} {answer.status_text}: the file has moved or been removed"
    if code >= 500:
        return f"HTTP {code} {answer.status_text}: the server is failing"
    if not 200 <= code < 300:
        return f"HTTP {code} {answer.status_text}: check the URL and whether it needs an account or a key"
    mime = mime_type(answer.content_type)
    what = f"a {target.format} file" if target.format else "data"
    if mime in HTML_TYPES and answer.final_url != target.url:
        return f"moved: now an HTML page at {answer.final_url}"
    if mime in HTML_TYPES:
        return f"an HTML page instead of {what} (a landing or error page?)"
    if fits is False:
        return f"content type {mime} does not fit {what}"
    return None


def counts(results: Iterable[CheckResult]) -> dict[str, int]:
    """How many results of each verdict."""
    tally = Counter(r.verdict for r in results)
    return {verdict: tally[verdict] for verdict in VERDICTS}


def summary_line(tally: dict[str, int]) -> str:
    return f"{tally['ok']} ok, {tally['broken']} broken, {tally['no_url']} without URL"


def render_line(result: CheckResult) -> str:
    """One line: verdict, source, vintage, file, then status, size, date and content type."""
    label = {"ok": "ok", "broken": "BROKEN", "no_url": "no URL"}[result.verdict]
    where = f"{label:<7} {result.source} {result.vintage} {result.file_name}"
    if result.verdict == "no_url":
        return f"{where}: {result.reason}"
    if result.status is None:
        return f"{where}: {result.reason} ({result.url})"
    fit = {True: " (fits", False: " (does not fit", None: ""}[result.type_fits]
    fit += f" {result.format or 'data'})" if fit else ""
    parts = [
        f"HTTP {result.status}",
        f"{result.size:,} B" if result.size is not None else "size unknown",
        f"modified {_date(result.last_modified)}" if result.last_modified else "no Last-Modified",
        f"{mime_type(result.content_type) or 'no content type'}{fit}",
    ]
    line = f"{where}: {', '.join(parts)}"
    return f"{line} — {result.reason} ({result.url})" if result.reason else line


def _date(http_date: str) -> str:
    try:
        return parsedate_to_datetime(http_date).strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError):
        return http_date
