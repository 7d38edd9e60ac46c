"""What a run did, in a user's terms, recorded as tags on the Dagster run.

`territoires/outcome` is `published` (a new warehouse was swapped in), `up_to_date`
(nothing changed since the published build: dbt, publish and exports skipped) or `failed`
(dbt or a publish check failed; the published warehouse was left as it was). Ingestion-only
runs carry no outcome tag: their run status says whether every source could be read.
"""

from __future__ import annotations

import dagster as dg

OUTCOME_TAG = "territoires/outcome"
BUILD_ID_TAG = "territoires/build_id"
TRIGGER_TAG = "territoires/trigger"
WRITES_TAG = "territoires/writes"
PLAN_TAG = "territoires/plan"
OUTCOMES = ("published", "up_to_date", "failed")


def record_outcome(context: dg.AssetExecutionContext, outcome: str, *, build_id: str | None = None) -> None:
    """Tag the current run with its outcome (and the build id it published)."""
    tags = {OUTCOME_TAG: outcome}
    if build_id:
        tags[BUILD_ID_TAG] = build_id
    context.instance.add_run_tags(context.run.run_id, tags)


def trigger_of(tags: dict[str, str]) -> str:
    """Who started a run: cli, demo, test, schedule <name>, sensor <name>, backfill, or ui."""
    if tags.get(TRIGGER_TAG):
        return tags[TRIGGER_TAG]
    if tags.get("dagster/schedule_name"):
        return f"schedule {tags['dagster/schedule_name']}"
    if tags.get("dagster/sensor_name"):
        return f"sensor {tags['dagster/sensor_name']}"
    if tags.get("dagster/backfill"):
        return "backfill"
    return "ui"
