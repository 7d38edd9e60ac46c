"""The sensor that notices new vintages and changed files upstream and refreshes only those sources.

Its run requests come from the run path, like a schedule's: one ingestion run per changed
source (for the vintages concerned), then the transformation run, queued in that order.
"""

from __future__ import annotations

import hashlib

import dagster as dg

from pipelines.orchestration.resources import SourceClient, WarehouseResource
from pipelines.orchestration.run_path import ASSET_JOB, BuildRequest, plan_build, transform_keys_of
from pipelines.orchestration.upstream import UpstreamChange, detect_changes


def change_requests(changes: list[UpstreamChange], plan) -> list[dg.RunRequest]:
    """The plan's runs, keyed by what was seen upstream: the same change asks for the same runs."""
    signature = hashlib.sha256(
        "|".join(sorted(f"{c.source}/{c.vintage}/{c.file_name}/{c.signature}" for c in changes)).encode()
    ).hexdigest()[:16]
    return plan.run_requests(f"upstream:{signature}")


@dg.sensor(
    job_name=ASSET_JOB,
    minimum_interval_seconds=6 * 3600,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Looks upstream (mirror or live URLs, HEAD requests and index pages only) for new vintages and "
    "changed files; refreshes only the sources concerned, then transforms and publishes.",
)
def upstream_changes(context: dg.SensorEvaluationContext, warehouse: WarehouseResource, sources: SourceClient):
    if sources.offline:
        return dg.SkipReason("offline: nothing can be looked up upstream")
    home = warehouse.data_home()
    discovered: dict = {}
    changes = detect_changes(sources.store(home), mirror=sources.mirror_location(), discovered=discovered)
    if not changes:
        return dg.SkipReason("nothing new upstream")
    by_source: dict[str, set[str]] = {}
    for change in changes:
        context.log.info(f"{change.source} {change.vintage} {change.file_name}: {change.reason}")
        by_source.setdefault(change.source, set()).add(change.vintage)
    plan = plan_build(
        BuildRequest(
            trigger="sensor upstream_changes",
            sources=tuple(sorted(by_source)),
            vintages_by_source={s: sorted(v) for s, v in by_source.items()},
            mirror=sources.mirror,
            home=warehouse.home,
        ),
        instance=context.instance,
        home=home,
        transform_keys=transform_keys_of(context.repository_def.asset_graph),
        discovered=discovered,
    )
    for note in plan.notes:
        context.log.warning(note)
    return change_requests(changes, plan)
