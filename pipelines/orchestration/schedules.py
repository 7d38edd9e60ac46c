"""Schedules: each source is refreshed at its publisher's cadence, through the run path.

Yearly sources are checked weekly (conditional requests make an unchanged file cost one
round trip), monthly ones (SIRENE) a few days after publication, weekly ones (GTFS) every
Monday. A tick asks the run path (pipelines/orchestration/run_path.py) for the plan of a
build of those sources — discovering this week's GTFS feeds or this month's SIRENE stock —
and hands its runs to the daemon's queue, which runs them in order: one ingestion run per
source, then the transformation run (a no-op when nothing changed).
"""

from __future__ import annotations

import dagster as dg

from pipelines.orchestration.run_path import ASSET_JOB, BuildRequest, plan_build, transform_keys_of
from pipelines.settings import data_home
from pipelines.sources.catalogue import load_catalogue

CRON = {
    "yearly": "0 3 * * 0",  # Sundays 03:00: look for new releases of yearly sources
    "monthly": "0 4 5 * *",  # the 5th of each month, after the SIRENE stock is out
    "weekly": "0 5 * * 1",  # Mondays 05:00: this week's GTFS feeds
}


def sources_by_cadence() -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for source in load_catalogue().values():
        if source.cadence in CRON:  # a discontinued source has nothing new to fetch
            grouped.setdefault(source.cadence, []).append(source.id)
    return grouped


def refresh_schedule(cadence: str, source_ids: list[str]) -> dg.ScheduleDefinition:
    """The schedule refreshing these sources, then transforming and publishing if anything changed."""
    name = f"refresh_{cadence}_sources"

    @dg.schedule(
        name=name,
        cron_schedule=CRON[cadence],
        job_name=ASSET_JOB,
        execution_timezone="Europe/Paris",
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"Fetch the {cadence} sources ({', '.join(source_ids)}); transform and publish if anything changed.",
    )
    def _tick(context: dg.ScheduleEvaluationContext):
        when = context.scheduled_execution_time
        plan = plan_build(
            BuildRequest(trigger=f"schedule {name}", sources=tuple(source_ids)),
            instance=context.instance,
            home=data_home().ensure(),
            transform_keys=transform_keys_of(context.repository_def.asset_graph),
            today=when.date() if when else None,
        )
        for note in plan.notes:
            context.log.warning(note)
        return plan.run_requests(f"{name}:{when:%Y%m%dT%H%M}" if when else f"{name}:{plan.plan_id}")

    return _tick


schedules = [refresh_schedule(cadence, ids) for cadence, ids in sorted(sources_by_cadence().items())]
