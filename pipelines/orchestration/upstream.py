"""Noticing what changed upstream without downloading it: new vintages and changed files.

For each file of the catalogue: with a folder mirror, its presence, size and date; over
HTTP, a HEAD request compared with the ETag, Last-Modified and size of the latest
snapshot. A file never fetched that now answers is a new vintage.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx

from pipelines.sources.catalogue import Source, load_catalogue
from pipelines.sources.snapshots import RawStore, Snapshot


@dataclass(frozen=True)
class UpstreamChange:
    """One catalogue file that is new or different upstream."""

    source: str
    vintage: str
    file_name: str
    reason: str  # 'new' or 'changed'
    signature: str  # what was seen upstream (size, date, ETag): one run per distinct change


def _location(source: Source, vintage: str, file_name: str, url: str | None, mirror: str | None) -> str | None:
    return f"{mirror.rstrip('/')}/{source.id}/{vintage}/{file_name}" if mirror else url


def _check_folder(path: Path, latest: Snapshot | None) -> tuple[str, str] | None:
    if not path.is_file():
        return None
    stat = path.stat()
    signature = f"{stat.st_size}:{int(stat.st_mtime)}"
    if latest is None:
        return "new", signature
    fetched = datetime.fromisoformat(latest.fetched_at).timestamp()
    if stat.st_size != latest.bytes or stat.st_mtime > fetched:
        return "changed", signature
    return None


def _check_http(client: httpx.Client, url: str, latest: Snapshot | None) -> tuple[str, str] | None:
    try:
        response = client.head(url, follow_redirects=True)
    except httpx.HTTPError:
        return None  # unreachable now: the scheduled fetch will report it
    if response.status_code >= 400:
        return None
    etag, modified = response.headers.get("etag"), response.headers.get("last-modified")
    size = response.headers.get("content-length")
    signature = f"{etag}:{modified}:{size}"
    if latest is None:
        return "new", signature
    if (etag and latest.etag and etag != latest.etag) or (
        modified and latest.last_modified and modified != latest.last_modified
    ) or (size and int(size) != latest.bytes):
        return "changed", signature
    return None


def detect_changes(
    store: RawStore, *, mirror: str | None = None, client: httpx.Client | None = None
) -> list[UpstreamChange]:
    """Every catalogue file that is new or changed upstream since its latest snapshot."""
    changes = []
    own_client = client is None
    client = client or httpx.Client(timeout=httpx.Timeout(20.0, connect=10.0), headers={"User-Agent": "territoires/0.1"})
    try:
        for source in load_catalogue().values():
            for vintage in source.vintage_ids:
                for spec in source.vintage(vintage).files:
                    location = _location(source, vintage, spec.name, spec.url, mirror)
                    if location is None:
                        continue
                    latest = store.latest(source.id, vintage, spec.name)
                    if location.startswith(("http://", "https://")):
                        seen = _check_http(client, location, latest)
                    else:
                        seen = _check_folder(Path(location), latest)
                    if seen:
                        changes.append(UpstreamChange(source.id, vintage, spec.name, *seen))
    finally:
        if own_client:
            client.close()
    return changes
