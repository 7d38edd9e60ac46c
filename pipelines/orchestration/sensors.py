"""The sensor that notices new vintages and changed files upstream and refreshes only them."""

import hashlib

import dagster as dg

from pipelines.orchestration.resources import SourceClient, WarehouseResource
from pipelines.orchestration.upstream import detect_changes


def change_requests(changes, asset_graph) -> list[dg.RunRequest]:
    """One run per changed source: its raw asset for the changed vintages, and what depends on it."""
    by_source: dict[str, list] = {}
    for change in changes:
        by_source.setdefault(change.source, []).append(change)
    requests = []
    for source_id, found in sorted(by_source.items()):
        vintages = sorted({c.vintage for c in found})
        key = dg.AssetKey(["raw", source_id])
        selection = dg.AssetSelection.assets(key).downstream().resolve(asset_graph)
        signature = hashlib.sha256("|".join(sorted(f"{c.vintage}/{c.file_name}/{c.signature}" for c in found)).encode())
        requests.append(
            dg.RunRequest(
                run_key=f"{source_id}:{signature.hexdigest()[:16]}",
                asset_selection=sorted(selection),
                run_config={"ops": {f"raw__{source_id}": {"config": {"vintages": vintages}}}},
                tags={"territoires/trigger": "upstream_change", "territoires/writes": "warehouse"},
            )
        )
    return requests


@dg.sensor(
    minimum_interval_seconds=6 * 3600,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Looks upstream (mirror or live URLs, HEAD requests only) for new vintages and changed files "
    "and refreshes only the sources concerned and what depends on them.",
)
def upstream_changes(context: dg.SensorEvaluationContext, warehouse: WarehouseResource, sources: SourceClient):
    home = warehouse.data_home()
    changes = detect_changes(sources.store(home), mirror=sources.mirror or None)
    if not changes:
        return dg.SkipReason("nothing new upstream")
    for change in changes:
        context.log.info(f"{change.source} {change.vintage} {change.file_name}: {change.reason}")
    return change_requests(changes, context.repository_def.asset_graph)
