"""What `territoires status` reports: the published build, recent builds, failures and gaps."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from pipelines.orchestration.freshness import source_freshness
from pipelines.settings import DataHome
from pipelines.sources.snapshots import RawStore


def _published(warehouse: Path) -> list[str]:
    if not warehouse.exists():
        return [f"no published warehouse at {warehouse} yet: run `territoires demo` or `territoires build`"]
    lines = []
    with duckdb.connect(str(warehouse), read_only=True) as con:
        about = con.execute("select build_id, built_at, sample_data, geography_vintage from meta.about").fetchone()
        lines.append(
            f"published: {warehouse} — build {about[0]}, {about[1]:%Y-%m-%d %H:%M} UTC, geography {about[3]}"
            + (" (SAMPLE DATA)" if about[2] else "")
        )
        runs = con.execute(
            "select build_id, status, finished_at, detail from meta.runs order by started_at desc limit 5"
        ).fetchall()
        for build_id, status, finished, detail in runs:
            lines.append(f"  build {build_id}  {status:<9} {finished:%Y-%m-%d %H:%M}  {detail[:100] if detail else ''}")
        loads = con.execute(
            "select source, string_agg(distinct vintage, ', ' order by vintage) from meta.raw_loads group by 1 order by 1"
        ).fetchall()
    lines.append("loaded vintages:")
    lines += [f"  {source:<22} {vintages}" for source, vintages in loads]
    return lines


def _attempts(store: RawStore) -> list[str]:
    """Per source and vintage, the outcome of the last fetch attempt of each file."""
    last: dict[tuple[str, str, str], dict] = {}
    for attempt in store.attempts():
        last[(attempt["source"], attempt["vintage"], attempt["file_name"])] = attempt
    problems = [a for a in last.values() if a["status"] in ("failed", "invalid")]
    lines = [f"last fetch attempts: {len(last)} files, {len(problems)} failed or invalid"]
    for a in sorted(problems, key=lambda a: (a["source"], a["vintage"], a["file_name"])):
        lines.append(f"  {a['source']} {a['vintage']} {a['file_name']}: {a['status']} — {(a.get('error') or '')[:160]}")
    return lines


def _last_build(home: DataHome) -> list[str]:
    path = home.root / "last_build.json"
    if not path.exists():
        return ["last build: none yet"]
    record = json.loads(path.read_text(encoding="utf-8"))
    statuses = [s for vintages in record["sources"].values() for s in vintages.values()]
    counts = ", ".join(f"{statuses.count(s)} {s}" for s in sorted(set(statuses)))
    lines = [f"last build: {record['finished_at']} — {record['outcome']} ({counts or 'no source'})"]
    if record["outcome"] == "up to date":
        lines.append("  nothing new upstream: nothing was downloaded or rebuilt")
    lines += [f"  check failed: {c[:160]}" for c in record["failed_checks"]]
    lines += [f"  step failed: {s[:160]}" for s in record["failed_steps"]]
    return lines


def _freshness(store: RawStore) -> list[str]:
    report = source_freshness(store)
    overdue = [f for f in report if f.overdue]
    lines = [f"freshness: {len(overdue)} of {len(report)} sources overdue or never fetched"]
    lines += [f"  {f.source:<22} {f.cadence:<8} {f.describe()}" for f in report]
    return lines


def render_status(home: DataHome) -> str:
    """The status report as text."""
    store = RawStore(home.root)
    return "\n".join(
        [f"data home: {home.root}", *_published(home.warehouse), *_last_build(home), *_freshness(store), *_attempts(store)]
    )
