"""What `territoires status` reports: the published build, the last runs, failures and gaps."""

from __future__ import annotations

from datetime import datetime, timezone
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


def _runs(home: DataHome, limit: int) -> list[str]:
    """The last Dagster runs of the data home's instance, whatever started them."""
    if limit == 0:
        return []
    settings = home.dagster_home / "dagster.yaml"
    if not settings.exists():
        return ["runs: none yet (no Dagster instance under this data home)"]
    import dagster as dg

    from pipelines.orchestration.run_outcome import OUTCOME_TAG, PLAN_TAG, trigger_of
    from pipelines.orchestration.run_path import describe_request

    with dg.DagsterInstance.from_config(str(home.dagster_home)) as instance:
        records = instance.get_run_records(limit=limit)
        lines = [f"last {len(records)} runs (newest first; `dagster run list` and the UI show the same):"]
        for record in records:
            run = record.dagster_run
            when = record.start_time or record.create_timestamp.timestamp()
            started = datetime.fromtimestamp(when, timezone.utc).strftime("%Y-%m-%d %H:%M")
            request = dg.RunRequest(asset_selection=list(run.asset_selection or []), tags=run.tags)
            what = describe_request(request) if run.asset_selection else run.job_name
            outcome = run.tags.get(OUTCOME_TAG, "")
            status = run.status.value.lower()
            lines.append(
                f"  {started}  {run.run_id[:8]}  {status:<9} {outcome:<10} {trigger_of(run.tags):<34} {what}"
                + (f"  [build {run.tags[PLAN_TAG]}]" if run.tags.get(PLAN_TAG) else "")
            )
    return lines


def _lock(home: DataHome) -> list[str]:
    from pipelines.warehouse.lock import is_locked

    holder = is_locked(home.lock_file)
    return [f"running now: {holder.describe()}"] if holder else []


def _freshness(store: RawStore) -> list[str]:
    report = source_freshness(store)
    overdue = [f for f in report if f.overdue]
    lines = [f"freshness: {len(overdue)} of {len(report)} sources overdue or never fetched"]
    lines += [f"  {f.source:<22} {f.cadence:<8} {f.describe()}" for f in report]
    return lines


def render_status(home: DataHome, *, runs: int = 10) -> str:
    """The status report as text."""
    store = RawStore(home.root)
    return "\n".join(
        [
            f"data home: {home.root}", *_lock(home), *_published(home.warehouse), *_runs(home, runs),
            *_freshness(store), *_attempts(store),
        ]
    )  # fmt: skip
