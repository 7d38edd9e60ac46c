"""The dbt models as Dagster assets, and the publish step that swaps the warehouse in."""


import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from pipelines.orchestration.dbt_project import dbt_project, ensure_manifest
from pipelines.warehouse.ingestion import ensure_raw_tables
from pipelines.warehouse.publish import new_build_id, publish
from pipelines.orchestration.resources import WarehouseResource
from pipelines.sources.catalogue import load_catalogue
from pipelines.warehouse.meta import ensure_meta_tables

ensure_manifest()


class TerritoiresTranslator(DagsterDbtTranslator):
    """dbt sources map onto the raw assets (raw/<source id>); models are keyed <schema>/<name>."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey(["raw", dbt_resource_props["source_name"]])
        config = dbt_resource_props.get("config", {})
        name = config.get("alias") or dbt_resource_props["name"]
        return dg.AssetKey([config.get("schema") or "main", name])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return dbt_resource_props.get("config", {}).get("schema") or "warehouse"


translator = TerritoiresTranslator(settings=DagsterDbtTranslatorSettings(enable_duplicate_source_asset_keys=True))


@dbt_assets(manifest=dbt_project.manifest_path, dagster_dbt_translator=translator, project=dbt_project)
def warehouse_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    """dbt build (models, seeds and their tests) into the build database."""
    # Every catalogue source has its raw tables, loaded or not, so dbt always compiles and
    # the indicators of a source that never loaded are simply absent.
    with warehouse.connect() as con:
        ensure_meta_tables(con)
        for source in load_catalogue().values():
            ensure_raw_tables(con, source)
    os.environ["TERRITOIRES_WORK_DB"] = str(warehouse.data_home().work_db)
    yield from dbt.cli(["build"], context=context).stream()


@dg.asset(
    key=["warehouse", "published"],
    deps=[warehouse_models],
    group_name="publish",
    kinds={"duckdb"},
    description="Copies the build database, checks it, and atomically replaces <data home>/warehouse.duckdb.",
)
def published_warehouse(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    report = publish(
        warehouse.data_home(), build_id=new_build_id(), sample=warehouse.is_sample(), dagster_run_id=context.run.run_id
    )
    context.log.info(f"published {report.path} (build {report.build_id})")
    return dg.MaterializeResult(
        metadata={
            "build_id": report.build_id,
            "path": dg.MetadataValue.path(report.path),
            "bytes": report.bytes,
            "tables": report.tables,
            "geography_vintage": report.geography_vintage or "",
        }
    )


@dg.asset(
    key=["warehouse", "docs"],
    deps=[published_warehouse],
    group_name="publish",
    kinds={"dbt"},
    description="dbt docs of the published build, as one static offline page: <data home>/docs/index.html.",
)
def warehouse_docs(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    home = warehouse.data_home()
    os.environ["TERRITOIRES_WORK_DB"] = str(home.work_db)
    with tempfile.TemporaryDirectory() as target:
        dbt.cli(["docs", "generate", "--static"], target_path=Path(target), raise_on_error=True).wait()
        home.docs.mkdir(parents=True, exist_ok=True)
        page = home.docs / "index.html"
        shutil.copyfile(Path(target) / "static_index.html", page.with_suffix(".tmp"))
        os.replace(page.with_suffix(".tmp"), page)
    context.log.info(f"dbt docs written to {page}")
    return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(page)), "bytes": page.stat().st_size})
