"""GTFS feed discovery for transport_gtfs, and what a vintage of that source means.

transport.data.gouv.fr (the French national access point) lists every public-transport
dataset at https://transport.data.gouv.fr/api/datasets: a JSON array of datasets, each
with its `slug`, `title` and `resources`; a GTFS resource has `format` "GTFS", a stable
download `url` (and the producer's `original_url`), and `metadata` with the calendar
validity `start_date` / `end_date` computed by the platform's validator (also given as
`start_calendar_validity` / `end_calendar_validity`).

A vintage of transport_gtfs is one ISO week, written `2026-W48`: the feeds it holds are
those still valid on the Tuesday of that week (its reference date), and the reader counts
departures per stop on that Tuesday. A plain date (`2026-11-24`) is accepted too and is
its own reference date. Each feed is one file of the vintage, `<feed id>.zip`, the feed id
being the dataset slug (followed by `-<resource id>` when the dataset lists several GTFS
resources).

The API has no field saying that a file needs credentials: the platform checks every
resource's URL and sets `is_available` to false when it cannot download it (a producer URL
behind a login answers 401 or 403). Such a resource, and one whose URL carries credentials
(user:password, a token or key parameter), is skipped and reported, never fetched. The
catalogue's `discovery: fixed_feeds` adds a feed every week at a fixed URL when the list
gives no feed of its dataset (the feed id is the dataset slug).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any, NamedTuple

from pipelines.sources.secrets import carries_credentials

API_URL = "https://transport.data.gouv.fr/api/datasets"

_WEEK = re.compile(r"([0-9]{4})-W([0-9]{2})")  # matched whole, ASCII digits only
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class FeedFile(NamedTuple):
    """One GTFS feed to fetch for a vintage: its file name (`<feed id>.zip`) and URL."""

    name: str
    url: str


class FeedScan(NamedTuple):
    """What the dataset list gives for a date: the feeds to fetch, the fixed feeds among them,
    and the GTFS resources skipped (`<feed id>: <why>`)."""

    feeds: list[FeedFile]
    fixed: list[str]
    skipped: list[str]


def reference_date(vintage: str) -> date:
    """The date a transport_gtfs vintage describes: the Tuesday of an ISO week, or the date given."""
    text = str(vintage).strip()
    week = _WEEK.fullmatch(text)
    try:
        if week:
            return date.fromisocalendar(int(week.group(1)), int(week.group(2)), 2)
        if _DATE.fullmatch(text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise ValueError(
        f"transport_gtfs vintage {vintage!r} is neither an ISO week such as 2026-W48 "
        "nor a date such as 2026-11-24"
    )


def week_vintage(day: date) -> str:
    """The ISO-week vintage (e.g. 2026-W48) that contains a date."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def discover_feeds(document: Path, on: date) -> list[FeedFile]:
    """The GTFS feeds of a dataset-API document still valid on a date, sorted by file name.

    A feed is dropped when its validity ended before `on` or when the platform marks it
    unavailable; a feed without a known end date is kept (the reader finds its validity in
    its calendar). Community resources (re-publications by third parties) are ignored.
    """
    try:
        datasets = json.loads(Path(document).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"transport.data.gouv.fr dataset list {document} cannot be read: {exc}") from None
    return feeds_from_datasets(datasets, on, where=str(document))


def feeds_from_datasets(datasets: Any, on: date, *, where: str = API_URL) -> list[FeedFile]:
    """The GTFS feeds valid on a date, from the dataset list already parsed (see discover_feeds)."""
    return scan_datasets(datasets, on, where=where).feeds


def scan_datasets(datasets: Any, on: date, *, where: str = API_URL, fixed_feeds: Iterable[dict] = ()) -> FeedScan:
    """The feeds of the dataset list valid on a date, plus each fixed feed ({dataset, url})
    whose dataset gave none; unavailable resources and URLs with credentials are skipped."""
    if not isinstance(datasets, list):
        raise ValueError(
            f"transport.data.gouv.fr dataset list {where} should be a JSON array of datasets, "
            f"found {type(datasets).__name__}"
        )
    feeds: dict[str, FeedFile] = {}
    skipped: list[str] = []
    served: set[str] = set()  # datasets that gave a feed
    for dataset in datasets:
        gtfs = [r for r in dataset.get("resources") or [] if _is_gtfs(r)]
        slug = _safe(dataset.get("slug") or dataset.get("id") or "")
        for resource in gtfs:
            url = resource.get("url") or resource.get("original_url")
            if not slug or not url or not _still_valid(resource, on):
                continue
            feed_id = slug
            if len(gtfs) > 1:
                # Several GTFS in one dataset (e.g. one per season): the resource id tells them
                # apart, expired ones counted too so that a feed keeps its id from week to week.
                resource_id = resource.get("id") or resource.get("datagouv_id") or ""
                feed_id = f"{slug}-{_safe(resource_id)}"
            problem = _why_not_fetched(resource, url)
            if problem:
                skipped.append(f"{feed_id}: {problem}")
                continue
            feeds[f"{feed_id}.zip"] = FeedFile(f"{feed_id}.zip", url)
            served.add(slug)
    fixed = []
    for entry in fixed_feeds:
        slug = _safe(entry["dataset"])
        if slug not in served:
            feeds[f"{slug}.zip"] = FeedFile(f"{slug}.zip", entry["url"])
            fixed.append(slug)
    return FeedScan([feeds[name] for name in sorted(feeds)], fixed, skipped)


def vintage_feeds(document: Path, vintage: str) -> list[FeedFile]:
    """The feed files of a transport_gtfs vintage, from a dataset-API document."""
    return discover_feeds(document, reference_date(vintage))


def _is_gtfs(resource: dict[str, Any]) -> bool:
    return str(resource.get("format") or "").strip().upper() == "GTFS"


def _safe(text: Any) -> str:
    return _UNSAFE.sub("-", str(text)).strip("-")


def _why_not_fetched(resource: dict[str, Any], url: str) -> str | None:
    """Why a valid GTFS resource cannot be fetched without credentials, if it cannot."""
    if resource.get("is_available") is False:
        return "unavailable upstream (is_available: false; a login may be needed)"
    if carries_credentials(url):
        return "its URL carries credentials"
    return None


def _still_valid(resource: dict[str, Any], on: date) -> bool:
    metadata = resource.get("metadata") or {}
    end = metadata.get("end_date") or resource.get("end_calendar_validity")
    if not end:
        return True
    try:
        return date.fromisoformat(str(end)[:10]) >= on
    except ValueError:
        return True  # an unreadable date says nothing; the reader checks the calendar
