"""One Dagster asset per catalogue source: fetch, snapshot, validate and load its raw tables."""


import dagster as dg

from pipelines.orchestration.freshness import source_freshness
from pipelines.warehouse.ingestion import INVALID, LOADED, MISSING, ingest_source
from pipelines.orchestration.resources import SourceClient, WarehouseResource
from pipelines.sources.catalogue import get_source
from pipelines.warehouse.meta import refresh_snapshot_tables

VALIDATION_CHECK = "raw_files_valid"
FRESHNESS_CHECK = "release_not_overdue"


class RawSourceConfig(dg.Config):
    """Which vintages to ingest; empty means every vintage of the catalogue."""

    vintages: list[str] = []


def raw_asset_key(source_id: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", source_id])


def build_source_asset(source_id: str, group_name: str) -> dg.AssetsDefinition:
    """The raw asset of a source, with its blocking-in-effect validation check.

    Invalid or missing files never replace what is loaded: the check fails and names the
    file and the problem, the last good rows stay, and the other sources go on.
    """
    source = get_source(source_id)
    key = raw_asset_key(source_id)

    @dg.asset(
        key=key,
        group_name=group_name,
        description=f"{source.title} ({source.publisher}). Raw tables raw.{source_id}__<entity>, one partition per vintage (_vintage).",
        kinds={"python", "duckdb"},
        metadata={
            "source_id": source_id,
            "licence": source.licence,
            "vintages_in_catalogue": ", ".join(source.vintage_ids),
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
    ):
        home = warehouse.data_home()
        store = sources.store(home)
        with sources.fetcher(home) as fetcher, warehouse.connect() as con:
            outcome = ingest_source(
                con,
                store,
                fetcher,
                source,
                config.vintages or None,
                sample=warehouse.is_sample(),
                log=context.log.info,
            )
            refresh_snapshot_tables(con, store)
        statuses = {v.vintage: v.status for v in outcome.vintages}
        yield dg.MaterializeResult(
            asset_key=key,
            metadata={
                "vintages": dg.MetadataValue.json(statuses),
                "rows_loaded": dg.MetadataValue.json({v.vintage: v.rows for v in outcome.vintages if v.rows}),
                "changed": outcome.changed,
            },
        )
        invalid = [v for v in outcome.vintages if v.status == INVALID]
        missing = [v for v in outcome.vintages if v.status == MISSING]
        yield dg.AssetCheckResult(
            check_name=VALIDATION_CHECK,
            asset_key=key,
            passed=not invalid,
            severity=dg.AssetCheckSeverity.ERROR,
            description=(
                "; ".join(f"{v.vintage}: {v.detail}" for v in invalid)
                or "every file received passed its checks"
            ),
            metadata={
                "invalid_vintages": [v.vintage for v in invalid],
                "missing_vintages": [v.vintage for v in missing],
                "loaded_vintages": [v.vintage for v in outcome.vintages if v.status == LOADED],
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
