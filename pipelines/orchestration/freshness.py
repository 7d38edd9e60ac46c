"""When each source's next release is expected, and which sources are overdue.

A vintage labelled by a year N is published in `release_month` of year N +
`release_lag_years`, and the next one is expected a year later; a monthly vintage
(`YYYY-MM`) is followed in the first days of the next month, a weekly one (`YYYY-Www`) a
week later. A grace period, by cadence, absorbs the publishers' usual delays.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from pipelines.sources.catalogue import Source, load_catalogue
from pipelines.sources.snapshots import RawStore
from pipelines.warehouse.ingestion import known_vintages

GRACE = {"yearly": timedelta(days=45), "monthly": timedelta(days=10), "weekly": timedelta(days=3)}


@dataclass(frozen=True)
class Freshness:
    """The freshness of one source."""

    source: str
    cadence: str
    latest_vintage: str | None
    next_expected: date | None
    overdue: bool

    def describe(self) -> str:
        if self.latest_vintage is None:
            return "never fetched"
        when = f"next release expected {self.next_expected:%Y-%m-%d}" if self.next_expected else "no further release"
        return f"latest {self.latest_vintage}, {when}" + (" — OVERDUE" if self.overdue else "")


def next_release(source: Source, latest_vintage: str) -> date | None:
    """The date the vintage after `latest_vintage` is expected, from its label and the calendar."""
    if "-W" in latest_vintage:  # weekly: YYYY-Www
        year, week = int(latest_vintage[:4]), int(latest_vintage.split("W")[1])
        return date.fromisocalendar(year, week, 1) + timedelta(weeks=1)
    if len(latest_vintage) == 7:  # monthly: YYYY-MM
        year, month = int(latest_vintage[:4]), int(latest_vintage[5:7])
        return date(year + month // 12, month % 12 + 1, 1)
    # yearly: the release after this one, a year later
    return date(int(latest_vintage[:4]) + 1 + source.release_lag_years, source.release_month or 1, 1)


def source_freshness(store: RawStore, today: date | None = None) -> list[Freshness]:
    """Every catalogue source: its latest vintage with a usable snapshot and whether the next is late."""
    today = today or date.today()
    report = []
    for source in load_catalogue().values():
        held = [v for v in known_vintages(store, source) if store.latest(source.id, v) is not None]
        latest = max(held) if held else None
        if source.cadence == "discontinued":
            report.append(Freshness(source.id, source.cadence, latest, None, latest is None))
            continue
        expected = next_release(source, latest) if latest else None
        late = latest is None or (expected is not None and today > expected + GRACE.get(source.cadence, timedelta()))
        report.append(Freshness(source.id, source.cadence, latest, expected, late))
    return report
