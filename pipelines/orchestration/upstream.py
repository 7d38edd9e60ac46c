"""Noticing what changed upstream without downloading it: new vintages and changed files.

For each file a vintage fetches (the catalogue's vintages, and the newest vintage of a
weekly or monthly source): with a folder mirror, its presence, size and date; over HTTP, a
HEAD request compared with the ETag, Last-Modified and size of the snapshot it serves now.
A file never fetched that now answers is a new vintage. Weekly and monthly sources are also
looked up for vintages not seen yet (pipelines/sources/discovery.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import httpx

from pipelines.sources.catalogue import Source, load_catalogue
from pipelines.sources.discovery import DiscoveredVintage, discover
from pipelines.sources.errors import SourceError
from pipelines.sources.fetch import USER_AGENT
from pipelines.sources.snapshots import RawStore, Snapshot
from pipelines.warehouse.ingestion import known_vintages, vintage_files


@dataclass(frozen=True)
class UpstreamChange:
    """One file that is new or different upstream (or a new vintage of a weekly or monthly source)."""

    source: str
    vintage: str
    file_name: str
    reason: str  # 'new' or 'changed'
    signature: str  # what was seen upstream (size, date, ETag): one run per distinct change


def _location(source: Source, vintage: str, file_name: str, url: str | None, mirror: str | None) -> str | None:
    return f"{mirror.rstrip('/')}/{source.id}/{vintage}/{file_name}" if mirror else url


def _current(store: RawStore, source: str, vintage: str, file_name: str) -> tuple[Snapshot | None, str | None]:
    """The snapshot a file serves now, and when it was last served (or first stored)."""
    entry = (store.served(source, vintage) or {}).get(file_name)
    if entry:
        found = store.find(source, vintage, file_name, entry["sha256"])
        if found is not None:
            return found, entry.get("served_at") or found.fetched_at
    latest = store.latest(source, vintage, file_name)
    return latest, latest.fetched_at if latest else None


def _check_folder(path: Path, latest: Snapshot | None, seen_at: str | None) -> tuple[str, str] | None:
    if not path.is_file():
        return None
    stat = path.stat()
    signature = f"{stat.st_size}:{int(stat.st_mtime)}"
    if latest is None:
        return "new", signature
    seen = datetime.fromisoformat(seen_at or latest.fetched_at).timestamp()
    if stat.st_size != latest.bytes or stat.st_mtime > seen:
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


def _vintages_to_watch(store: RawStore, source: Source) -> list[str]:
    if not source.is_dynamic:
        return source.vintage_ids
    known = known_vintages(store, source)
    return known[-1:]  # only the newest week or month is fetched again


def detect_changes(
    store: RawStore,
    *,
    mirror: str | None = None,
    client: httpx.Client | None = None,
    today: date | None = None,
    discovered: dict[str, list[DiscoveredVintage]] | None = None,
) -> list[UpstreamChange]:
    """Every file that is new or changed upstream since the snapshot it serves, and new vintages.

    `discovered` receives, per weekly or monthly source, what discovery found (for the plan).
    """
    changes = []
    own_client = client is None
    client = client or httpx.Client(timeout=httpx.Timeout(20.0, connect=10.0), headers={"User-Agent": USER_AGENT})
    try:
        for source in load_catalogue().values():
            if source.is_dynamic:
                try:
                    found = discover(source, mirror=mirror, client=client, today=today)
                except SourceError:
                    found = []  # unreachable now: the scheduled refresh will report it
                if discovered is not None:
                    discovered[source.id] = found
                known = set(known_vintages(store, source))
                changes += [
                    UpstreamChange(source.id, d.vintage, "*", "new", d.signature) for d in found if d.vintage not in known
                ]
            for vintage in _vintages_to_watch(store, source):
                files, fetched = vintage_files(store, source, vintage)
                if not fetched:
                    continue
                for spec in files:
                    location = _location(source, vintage, spec.name, spec.url, mirror)
                    if location is None:
                        continue
                    latest, seen_at = _current(store, source.id, vintage, spec.name)
                    if location.startswith(("http://", "https://")):
                        seen = _check_http(client, location, latest)
                    else:
                        seen = _check_folder(Path(location), latest, seen_at)
                    if seen:
                        changes.append(UpstreamChange(source.id, vintage, spec.name, *seen))
    finally:
        if own_client:
            client.close()
    return changes
