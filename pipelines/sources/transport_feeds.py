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
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any, NamedTuple

API_URL = "https://transport.data.gouv.fr/api/datasets"

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class FeedFile(NamedTuple):
    """One GTFS feed to fetch for a vintage: its file name (`<feed id>.zip`) and URL."""

    name: str
    url: str


def reference_date(vintage: str) -> date:
    """The date a transport_gtfs vintage describes: the Tuesday of an ISO week, or the date given."""
    text = str(vintage).strip()
    week = _WEEK.match(text)
    try:
        if week:
            return date.fromisocalendar(int(week.group(1)), int(week.group(2)), 2)
        if _DATE.match(text):
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
    if not isinstance(datasets, list):
        raise ValueError(
            f"transport.data.gouv.fr dataset list {where} should be a JSON array of datasets, "
            f"found {type(datasets).__name__}"
        )
    feeds: dict[str, FeedFile] = {}
    for dataset in datasets:
        gtfs = [r for r in dataset.get("resources") or [] if _is_gtfs(r)]
        slug = _UNSAFE.sub("-", str(dataset.get("slug") or dataset.get("id") or "")).strip("-")
        for resource in gtfs:
            url = resource.get("url") or resource.get("original_url")
            if not slug or not url or not _still_valid(resource, on):
                continue
            feed_id = slug
            if len(gtfs) > 1:
                # Several GTFS in one dataset (e.g. one per season): the resource id tells them
                # apart, expired ones counted too so that a feed keeps its id from week to week.
                resource_id = resource.get("id") or resource.get("datagouv_id") or ""
                feed_id = f"{slug}-{_UNSAFE.sub('-', str(resource_id))}"
            feeds[f"{feed_id}.zip"] = FeedFile(f"{feed_id}.zip", url)
    return [feeds[name] for name in sorted(feeds)]


def vintage_feeds(document: Path, vintage: str) -> list[FeedFile]:
    """The feed files of a transport_gtfs vintage, from a dataset-API document."""
    return discover_feeds(document, reference_date(vintage))


def _is_gtfs(resource: dict[str, Any]) -> bool:
    return str(resource.get("format") or "").strip().upper() == "GTFS"


def _still_valid(resource: dict[str, Any], on: date) -> bool:
    if resource.get("is_available") is False:
        return False
    metadata = resource.get("metadata") or {}
    end = metadata.get("end_date") or resource.get("end_calendar_validity")
    if not end:
        return True
    try:
        return date.fromisoformat(str(end)[:10]) >= on
    except ValueError:
        return True  # an unreadable date says nothing; the reader checks the calendar
