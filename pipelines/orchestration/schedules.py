"""Jobs and schedules: each source is refreshed at its publisher's cadence.

Yearly sources are checked weekly (conditional requests make an unchanged file cost one
round trip), monthly ones (SIRENE) a few days after publication, weekly ones (GTFS) every
Monday. Each job runs the sources' raw assets and everything downstream of them.
"""

import dagster as dg

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


def refresh_job(cadence: str, source_ids: list[str]):
    """The job refreshing these sources and what depends on them, one run at a time."""
    raw = dg.AssetSelection.assets(*[dg.AssetKey(["raw", s]) for s in source_ids])
    return dg.define_asset_job(
        f"refresh_{cadence}_sources",
        selection=raw.downstream(),
        description=f"Fetch the {cadence} sources ({', '.join(source_ids)}), rebuild what depends on them, publish.",
        executor_def=dg.in_process_executor,
        tags={"territoires/writes": "warehouse"},
    )


refresh_jobs = [refresh_job(cadence, ids) for cadence, ids in sorted(sources_by_cadence().items())]

schedules = [
    dg.ScheduleDefinition(
        job=job,
        cron_schedule=CRON[job.name.split("_")[1]],
        execution_timezone="Europe/Paris",
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )
    for job in refresh_jobs
]
