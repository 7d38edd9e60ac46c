"""One Dagster asset per catalogue source: fetch, snapshot, validate and load its raw tables.

Each vintage is a partition of its source's asset; a run ingests a range of them in one go
(single-run backfill policy). Three checks come with every raw asset:

* `raw_files_valid` (error): every file received parsed and passed its checks; a failing
  file is never loaded, the last good rows stay, the other sources go on;
* `latest_fetch_succeeded` (warning): every vintage's fetch of this run worked; a vintage
  that could not be fetched says so and which snapshot it still serves;
* `release_not_overdue` (warning): the source's next release is not late.
"""

import json
import warnings

import dagster as dg

from pipelines.orchestration import progress
from pipelines.orchestration.freshness import source_freshness
from pipelines.orchestration.partitions import vintage_partitions
from pipelines.orchestration.resources import DataHomeLock, SourceClient, WarehouseResource
from pipelines.sources.catalogue import get_source
from pipelines.warehouse.ingestion import INVALID, LOADED, MISSING, ingest_source
from pipelines.warehouse.meta import refresh_snapshot_tables

VALIDATION_CHECK = "raw_files_valid"
FETCH_CHECK = "latest_fetch_succeeded"
FRESHNESS_CHECK = "release_not_overdue"
FORCE_TAG = "territoires/force"


class RawSourceConfig(dg.Config):
    """Files of weekly or monthly vintages found upstream when the run was planned.

    JSON: {vintage: {"files": [{name, format, url, entity}], "found_by": "..."}}; the run
    records them beside the snapshots before fetching.
    """

    discovered_json: str = "{}"


def raw_asset_key(source_id: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", source_id])


def build_source_asset(source_id: str, group_name: str) -> dg.AssetsDefinition:
    """The raw asset of a source, partitioned by vintage, with its three checks."""
    source = get_source(source_id)
    key = raw_asset_key(source_id)
    with warnings.catch_warnings():  # single-run backfills are a beta feature of Dagster 1.13
        warnings.simplefilter("ignore", dg.BetaWarning)
        return _source_asset(source, key, group_name)


def _source_asset(source, key: dg.AssetKey, group_name: str) -> dg.AssetsDefinition:
    source_id = source.id

    @dg.asset(
        key=key,
        group_name=group_name,
        description=f"{source.title} ({source.publisher}). Raw tables raw.{source_id}__<entity>, one partition per vintage (_vintage).",
        kinds={"python", "duckdb"},
        partitions_def=vintage_partitions(source),
        backfill_policy=dg.BackfillPolicy.single_run(),
        metadata={
            "source_id": source_id,
            "licence": source.licence,
            "partitions": source.partitions,
            "homepage": dg.MetadataValue.url(source.homepage) if source.homepage else "",
        },
        check_specs=[
            dg.AssetCheckSpec(
                VALIDATION_CHECK,
                asset=key,
                description="Every fetched file parsed and passed its Great Expectations suite; "
                "a failing file is never loaded.",
            ),
            dg.AssetCheckSpec(
                FETCH_CHECK,
                asset=key,
                description="Every vintage of the run was fetched; one that was not serves its last snapshot.",
            ),
            dg.AssetCheckSpec(
                FRESHNESS_CHECK,
                asset=key,
                description="The source's next release is not overdue (catalogue cadence, release month and lag).",
            ),
        ],
    )
    def _raw_source(
        context: dg.AssetExecutionContext,
        config: RawSourceConfig,
        warehouse: WarehouseResource,
        sources: SourceClient,
        home_lock: DataHomeLock,
    ):
        home = warehouse.data_home()
        store = sources.store(home)
        force = context.run.tags.get(FORCE_TAG) == "true"
        for vintage, found in json.loads(config.discovered_json or "{}").items():
            store.record_vintage_files(source_id, vintage, found["files"], found_by=found.get("found_by", ""))

        def said(source_id, outcome) -> None:
            progress.report(
                "source", source=source_id, vintage=outcome.vintage, status=outcome.status,
                fetched=outcome.fetch_statuses, bytes=outcome.downloaded_bytes, seconds=outcome.seconds,
                detail=outcome.describe(), fetch_failed=outcome.fetch_failed,
            )  # fmt: skip

        with sources.fetcher(home) as fetcher, warehouse.connect() as con:
            outcome = ingest_source(
                con, store, fetcher, source, sorted(context.partition_keys),
                sample=warehouse.is_sample(), force=force, log=context.log.info, on_vintage=said,
            )  # fmt: skip
            refresh_snapshot_tables(con, store)
        yield dg.MaterializeResult(
            asset_key=key,
            metadata={
                "vintages": dg.MetadataValue.json({v.vintage: v.status for v in outcome.vintages}),
                "rows_loaded": dg.MetadataValue.json({v.vintage: v.rows for v in outcome.vintages if v.rows}),
                "changed": outcome.changed,
                "details": dg.MetadataValue.json({v.vintage: v.describe() for v in outcome.vintages}),
            },
        )
        invalid = [v for v in outcome.vintages if v.status == INVALID]
        missing = [v for v in outcome.vintages if v.status == MISSING]
        yield dg.AssetCheckResult(
            check_name=VALIDATION_CHECK,
            asset_key=key,
            passed=not invalid,
            severity=dg.AssetCheckSeverity.ERROR,
            description="; ".join(f"{v.vintage}: {v.detail}" for v in invalid) or "every file received passed its checks",
            metadata={
                "invalid_vintages": [v.vintage for v in invalid],
                "missing_vintages": [v.vintage for v in missing],
                "loaded_vintages": [v.vintage for v in outcome.vintages if v.status == LOADED],
            },
        )
        failing = [v for v in outcome.vintages if v.fetch_failed or v.status == MISSING]
        yield dg.AssetCheckResult(
            check_name=FETCH_CHECK,
            asset_key=key,
            passed=not failing,
            severity=dg.AssetCheckSeverity.WARN,
            description="; ".join(
                f"{v.vintage}: " + (v.describe().split(" — ", 1)[-1] if v.fetch_failed else f"missing — {v.detail}")
                for v in failing
            ) or "every vintage was fetched (or is served from its snapshots)",
            metadata={
                "failed_vintages": [v.vintage for v in failing if v.fetch_failed],
                "missing_vintages": [v.vintage for v in missing],
            },
        )
        freshness = next(f for f in source_freshness(store) if f.source == source_id)
        yield dg.AssetCheckResult(
            check_name=FRESHNESS_CHECK,
            asset_key=key,
            passed=not freshness.overdue,
            severity=dg.AssetCheckSeverity.WARN,
            description=freshness.describe(),
            metadata={"latest_vintage": freshness.latest_vintage or "", "cadence": freshness.cadence},
        )

    return _raw_source
