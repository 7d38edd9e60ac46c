"""What `territoires status` reports: the published build, recent builds, failures and gaps."""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.settings import DataHome
from pipelines.sources.catalogue import load_catalogue
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


def _missing(store: RawStore) -> list[str]:
    lines = []
    for source in load_catalogue().values():
        absent = [v for v in source.vintage_ids if store.latest(source.id, v) is None]
        if absent:
            lines.append(f"  {source.id:<22} no snapshot for {', '.join(absent)}")
    return (["vintages without any snapshot:"] + lines) if lines else ["every catalogue vintage has a snapshot"]


def render_status(home: DataHome) -> str:
    """The status report as text."""
    store = RawStore(home.root)
    return "\n".join([f"data home: {home.root}", *_published(home.warehouse), *_attempts(store), *_missing(store)])
