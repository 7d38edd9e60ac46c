"""Finding the vintages of weekly and monthly sources upstream, without a catalogue edit.

A source with `partitions: weekly` or `monthly` lists no vintages by hand. Its vintages
are found in one of three ways:

* a mirror (TERRITOIRES_MIRROR, a folder or an http base laid out as
  `<source>/<vintage>/<file>`): every well-formed vintage folder of the source, with the
  files it holds (an http mirror must list its folders, as web servers' index pages do);
* live, `discovery.method: transport_datasets`: the national access point's dataset list
  (`discovery.url`) gives the GTFS feeds valid on this week's Tuesday: this week is found,
  with one `<feed id>.zip` per feed, plus the `discovery.fixed_feeds` the list does not give;
  resources that cannot be fetched without credentials are skipped and named in `found_by`;
* live, `discovery.method: last_modified`: a HEAD request on the source's "latest" file
  (`discovery.url`) dates it; the stock published in the first days of month M (or on the
  last two days of M-1) is the vintage M.

Only requests that describe files are made (an index page, the dataset list, a HEAD):
nothing is downloaded here. What is found is recorded beside the snapshots
(`raw/<source>/<vintage>/files.json`) by the caller.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, timedelta, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import quote, unquote, urljoin

import httpx

from pipelines.sources.catalogue import FileSpec, Source, well_formed
from pipelines.sources.errors import FetchError
from pipelines.sources.fetch import USER_AGENT, guess_format
from pipelines.sources.transport_feeds import reference_date, scan_datasets, week_vintage

_HREF = re.compile(r"""href\s*=\s*["']([^"'?#]+)["']""", re.IGNORECASE)
# A stock dated in the last two days of a month is the next month's stock (published early).
STOCK_EARLY_DAYS = 2


@dataclass(frozen=True)
class DiscoveredVintage:
    """One vintage found upstream, the files it holds, and how it was found."""

    source: str
    vintage: str
    files: tuple[FileSpec, ...]
    found_by: str
    skipped: tuple[str, ...] = ()  # files seen upstream but not fetched, with why

    @property
    def signature(self) -> str:
        """What was seen (vintage and files): one run per distinct discovery."""
        text = "|".join([self.vintage, *sorted(f"{f.name}:{f.url}" for f in self.files)])
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def as_records(self) -> list[dict]:
        return [{"name": f.name, "format": f.format, "url": f.url, "entity": f.entity} for f in self.files]


def discover(
    source: Source, *, mirror: str | None = None, client: httpx.Client | None = None, today: date | None = None
) -> list[DiscoveredVintage]:
    """The vintages of a weekly or monthly source that upstream (or the mirror) offers now.

    Raises FetchError (naming the source and the URL) when upstream cannot be asked.
    """
    if not source.is_dynamic:
        return []
    own = client is None
    client = client or httpx.Client(
        timeout=httpx.Timeout(30.0, connect=10.0), headers={"User-Agent": USER_AGENT}, follow_redirects=True
    )
    try:
        if mirror:
            return _from_mirror(source, mirror, client)
        method = source.discovery.get("method")
        if method == "transport_datasets":
            return [_from_transport_datasets(source, client, today or date.today())]
        if method == "last_modified":
            return [_from_last_modified(source, client)]
        return []
    finally:
        if own:
            client.close()


# ------------------------------------------------------------------------------ mirror


def _from_mirror(source: Source, mirror: str, client: httpx.Client) -> list[DiscoveredVintage]:
    if mirror.startswith(("http://", "https://")):
        base = f"{mirror.rstrip('/')}/{quote(source.id)}/"
        vintages = [v for v in _listing(client, base, source) if well_formed(source.partitions, v)]
        return [
            DiscoveredVintage(
                source.id, v, _file_specs(source, _listing(client, f"{base}{quote(v)}/", source)), f"mirror {base}{v}/"
            )
            for v in sorted(vintages)
        ]
    folder = Path(mirror.removeprefix("file://")) / source.id
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(p for p in folder.iterdir() if p.is_dir() and well_formed(source.partitions, p.name)):
        names = [f.name for f in sorted(path.iterdir()) if f.is_file() and not f.name.startswith(".")]
        found.append(DiscoveredVintage(source.id, path.name, _file_specs(source, names), f"mirror {path}"))
    return found


def _listing(client: httpx.Client, url: str, source: Source) -> list[str]:
    """The entries of an index page (folders without their trailing slash)."""
    try:
        response = client.get(url)
    except httpx.HTTPError as exc:
        raise FetchError(f"the mirror's index page cannot be read ({exc})", source=source.id, url=url) from None
    if response.status_code == 404:
        return []
    if response.status_code != 200:
        raise FetchError(f"the mirror's index page answered HTTP {response.status_code}", source=source.id, url=url)
    entries = []
    for href in _HREF.findall(response.text):
        target = urljoin(url, href)
        if not target.startswith(url) or target == url:
            continue  # a link out of this folder (parent, sort order, elsewhere)
        name = unquote(target[len(url):]).strip("/")
        if name and "/" not in name and not name.startswith("."):
            entries.append(name)
    return sorted(set(entries))


def _file_specs(source: Source, names: list[str]) -> tuple[FileSpec, ...]:
    """Files found in a mirror folder, with the template's entity and format where names match."""
    template = {f["name"]: f for kind in ("current_files", "past_files") for f in source.vintage_template.get(kind, [])}
    specs = []
    for name in names:
        known = template.get(name, {})
        fmt = known.get("format") or guess_format(name)
        if fmt is None:
            continue  # not a data file (a README, a checksum list)
        specs.append(FileSpec(name=name, format=fmt, url=None, entity=known.get("entity")))
    return tuple(specs)


# -------------------------------------------------------------------------------- live


def _from_transport_datasets(source: Source, client: httpx.Client, today: date) -> DiscoveredVintage:
    url = source.discovery["url"]
    try:
        response = client.get(url)
        response.raise_for_status()
        datasets = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise FetchError(f"the dataset list cannot be read ({exc})", source=source.id, url=url) from None
    week = week_vintage(today)
    try:
        fixed = source.discovery.get("fixed_feeds") or ()
        scan = scan_datasets(datasets, reference_date(week), where=url, fixed_feeds=fixed)
    except ValueError as exc:
        raise FetchError(str(exc), source=source.id, url=url) from None
    files = tuple(FileSpec(name=f.name, format="zip", url=f.url) for f in scan.feeds)
    found_by = f"dataset list {url} ({len(files)} GTFS feeds valid on {reference_date(week)}"
    if scan.fixed:
        found_by += f"; fixed URL for {', '.join(scan.fixed)}"
    if scan.skipped:
        found_by += f"; skipped {'; '.join(scan.skipped)}"
    return DiscoveredVintage(source.id, week, files, found_by + ")", tuple(scan.skipped))


def _from_last_modified(source: Source, client: httpx.Client) -> DiscoveredVintage:
    url = source.discovery["url"]
    try:
        response = client.head(url)
    except httpx.HTTPError as exc:
        raise FetchError(f"the HEAD request failed ({exc})", source=source.id, url=url) from None
    modified = response.headers.get("last-modified")
    if response.status_code != 200 or not modified:
        raise FetchError(
            f"HTTP {response.status_code} without a Last-Modified date: the month of the file cannot be told",
            source=source.id, url=url,
        )  # fmt: skip
    month = stock_month(modified)
    return DiscoveredVintage(source.id, month, source.template_files("current_files", month), f"Last-Modified {modified} of {url}")


def stock_month(last_modified: str) -> str:
    """The month a stock belongs to, from its HTTP date: published on the 1st of M (or just before)."""
    try:
        when = parsedate_to_datetime(last_modified)
    except (TypeError, ValueError):
        raise ValueError(f"{last_modified!r} is not an HTTP date") from None
    when = (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
    return (when + timedelta(days=STOCK_EARLY_DAYS)).strftime("%Y-%m")
