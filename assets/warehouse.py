"""The dbt models as Dagster assets, and the publish step that swaps the warehouse in.

The dbt step decides whether there is anything to do: when the build database holds the
same inputs as the published warehouse (same loaded snapshots and parsers, same code) and
the run is not forced, it runs nothing, and publish, exports and docs are skipped with it.
Otherwise it builds the whole dbt project, so a published warehouse never mixes tables of
two states of its inputs.
"""

import logging
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets
from dagster_dbt.errors import DagsterDbtCliRuntimeError

from pipelines.sources import failpoints
from pipelines.orchestration import progress
from pipelines.orchestration.dbt_project import dbt_project, ensure_manifest
from pipelines.orchestration.resources import DataHomeLock, WarehouseResource
from pipelines.orchestration.run_outcome import record_outcome
from pipelines.orchestration.source_assets import FORCE_TAG
from pipelines.programmes.inputs import ensure_programme_tables
from pipelines.sources.catalogue import load_catalogue
from pipelines.sources.durable import write_atomically
from pipelines.warehouse.fingerprint import dbt_project_fingerprint, inputs_fingerprint, published_fingerprint
from pipelines.warehouse.disk import require_free_space
from pipelines.warehouse.ingestion import ensure_raw_tables
from pipelines.warehouse.meta import ensure_meta_tables
from pipelines.warehouse.publish import new_build_id, publish

ensure_manifest()

DOCS_MANIFEST = "dbt_manifest.json"  # beside the build database: the last build's compiled manifest
PARTIAL_PARSE = "partial_parse.msgpack"  # dbt's parse cache, valid while the project and the profile stay the same


def fresh_target(target: Path) -> Path:
    """dbt's target folder emptied of the last build's files, its parse cache kept.

    dbt parses the whole project again (about 5 s on the sample, more nationally) when the
    profile differs from the one its cache was made with, and the profile holds the build
    database's path: the project's own cache, made for another path, never serves a data
    home, the last build's cache in the same home does. dbt checks the cache against every
    project file and falls back to a full parse when it is stale or unreadable.
    """
    cache = target / PARTIAL_PARSE
    kept = target.with_name(f"{target.name}.{PARTIAL_PARSE}")
    if cache.exists():
        os.replace(cache, kept)
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    if kept.exists():
        os.replace(kept, cache)
    return target

# dbt sources written by Python assets other than the raw source assets.
PROGRAMME_SOURCES = {
    "programme_rules": dg.AssetKey(["programmes", "rule_files"]),
    "programme_published": dg.AssetKey(["programmes", "published_targets"]),
}


class TerritoiresTranslator(DagsterDbtTranslator):
    """dbt sources map onto the raw assets (raw/<source id>); models are keyed <schema>/<name>.

    The tests of the published tables (geo, indicators, programmes) are asset checks; the
    tests of staging and intermediate models still run in `dbt build` and fail it when they
    fail, without a check each (hundreds of them would cost every run their events).
    """

    def get_asset_check_spec(self, asset_spec, manifest, unique_id, project):
        test = manifest["nodes"].get(unique_id, {})
        models = [manifest["nodes"].get(n, {}) for n in test.get("depends_on", {}).get("nodes", [])]
        if not any(m.get("fqn", [None, None])[1:2] == ["marts"] for m in models):
            return None
        return super().get_asset_check_spec(asset_spec, manifest, unique_id, project)

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            name = dbt_resource_props["source_name"]
            return PROGRAMME_SOURCES.get(name, dg.AssetKey(["raw", name]))
        config = dbt_resource_props.get("config", {})
        name = config.get("alias") or dbt_resource_props["name"]
        return dg.AssetKey([config.get("schema") or "main", name])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return dbt_resource_props.get("config", {}).get("schema") or "warehouse"


translator = TerritoiresTranslator(settings=DagsterDbtTranslatorSettings(enable_duplicate_source_asset_keys=True))


def _up_to_date(context: dg.AssetExecutionContext, home) -> str | None:
    """Why dbt has nothing to do (None when it has)."""
    if context.run.tags.get(FORCE_TAG) == "true":
        return None
    if home.transform_marker.exists():
        context.log.warning("the last dbt build was interrupted: the build database is rebuilt")
        return None
    published = published_fingerprint(home)
    if published is not None and published == inputs_fingerprint(home):
        return f"the build database holds the inputs of the published warehouse ({published[:12]}…)"
    return None


class _OnlyCheckedTests(logging.Filter):
    """Drops dagster-dbt's notice, one per test, that a test without a check is logged as an observation."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "instead of an `AssetCheckResult`" not in record.getMessage()


def _failed_nodes(invocation) -> list[str]:
    try:
        results = invocation.get_artifact("run_results.json")["results"]
    except Exception:  # noqa: BLE001 - no artifact when dbt could not start
        return []
    return [r["unique_id"].split(".")[-1] if r["unique_id"].startswith("model.") else r["unique_id"].split(".")[2]
            for r in results if r.get("status") in ("error", "fail")]  # fmt: skip


@dbt_assets(manifest=dbt_project.manifest_path, dagster_dbt_translator=translator, project=dbt_project)
def warehouse_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource, home_lock: DataHomeLock
):
    """dbt build (models, seeds and their tests) into the build database, unless nothing changed."""
    home = warehouse.data_home()
    # Every input table exists, loaded or not, so dbt always compiles and the indicators of
    # a source that never loaded are simply absent.
    with warehouse.connect() as con:
        ensure_meta_tables(con)
        for source in load_catalogue().values():
            ensure_raw_tables(con, source)
        ensure_programme_tables(con)
    reason = _up_to_date(context, home)
    if reason:
        context.log.info(f"nothing to transform: {reason}; dbt, publish and exports are skipped")
        record_outcome(context, "up_to_date")
        progress.report("transform", status="up_to_date", reason=reason)
        return
    # dbt rewrites tables of the build database, publish copies it whole: room for a copy first.
    require_free_space(home, also=home.work_db.stat().st_size, what="the transformation (dbt, then a copy to publish)")
    write_atomically(home.transform_marker, context.run.run_id.encode())
    os.environ["TERRITOIRES_WORK_DB"] = str(home.work_db)
    total = sum(1 for key in context.selected_asset_keys)
    done = 0
    progress.report("transform", status="started", total=total)
    # dbt's target folder beside the build database (not a new one in the project per run)
    target = fresh_target(home.work_db.parent / "dbt_target")
    failpoints.reach("dbt.build")
    invocation = dbt.cli(["build"], context=context, target_path=target)
    notices, only_checked = logging.getLogger("dagster.builtin"), _OnlyCheckedTests()
    notices.addFilter(only_checked)
    try:
        for event in invocation.stream():
            if isinstance(event, dg.AssetObservation):
                continue  # a staging or intermediate test: its result is in dbt's output and run_results.json
            if isinstance(event, (dg.Output, dg.AssetMaterialization)):
                done += 1
                failpoints.reach("dbt.node")
                progress.report("dbt", done=done, total=total)
            elif isinstance(event, dg.AssetCheckResult) and not event.passed:
                progress.report("dbt_test", name=event.check_name, severity=str(event.severity.value))
            yield event
    except DagsterDbtCliRuntimeError:
        record_outcome(context, "failed")
        progress.report("transform", status="failed", failed=_failed_nodes(invocation))
        raise
    finally:
        notices.removeFilter(only_checked)
    home.transform_marker.unlink(missing_ok=True)
    # the compiled manifest of this build, for the docs page (no second compilation)
    compiled = invocation.target_path / "manifest.json"
    if compiled.exists():
        shutil.copyfile(compiled, home.work_db.parent / DOCS_MANIFEST)
    progress.report("transform", status="done", done=done, total=total)


@dg.asset(
    key=["warehouse", "published"],
    deps=[warehouse_models],
    group_name="publish",
    kinds={"duckdb"},
    description="Copies the build database, checks it, and atomically replaces <data home>/warehouse.duckdb.",
)
def published_warehouse(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, home_lock: DataHomeLock
) -> dg.MaterializeResult:
    progress.report("publish", status="started")
    try:
        report = publish(
            warehouse.data_home(), build_id=new_build_id(), sample=warehouse.is_sample(), dagster_run_id=context.run.run_id
        )
    except Exception as exc:
        record_outcome(context, "failed")
        progress.report("publish", status="failed", error=str(exc))
        raise
    context.log.info(f"published {report.path} (build {report.build_id})")
    record_outcome(context, "published", build_id=report.build_id)
    progress.report("publish", status="done", build_id=report.build_id, path=report.path, bytes=report.bytes)
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
def warehouse_docs(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource, home_lock: DataHomeLock
):
    home = warehouse.data_home()
    page = home.docs / "index.html"
    stamp = home.docs / "dbt_project.sha256"
    # The page documents the dbt project (models, columns, tests, lineage): a build with new
    # data and the same project keeps it, instead of spending a dbt run on the same page.
    wanted = dbt_project_fingerprint()
    if page.exists() and stamp.exists() and stamp.read_text(encoding="utf-8").strip() == wanted:
        context.log.info(f"dbt docs unchanged (same dbt project): {page}")
        return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(page)), "regenerated": False})
    os.environ["TERRITOIRES_WORK_DB"] = str(home.work_db)
    manifest = home.work_db.parent / DOCS_MANIFEST
    with tempfile.TemporaryDirectory() as target:
        args = ["docs", "generate", "--static"]
        parsed = home.work_db.parent / "dbt_target" / PARTIAL_PARSE
        if parsed.exists():  # the build's parse, made with this data home's profile
            shutil.copyfile(parsed, Path(target) / PARTIAL_PARSE)
        if manifest.exists():  # compiled by this build's dbt step: the catalogue is all that is left
            shutil.copyfile(manifest, Path(target) / "manifest.json")
            args.append("--no-compile")
        dbt.cli(args, target_path=Path(target), raise_on_error=True).wait()
        home.docs.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(Path(target) / "static_index.html", page.with_suffix(".tmp"))
        os.replace(page.with_suffix(".tmp"), page)
    write_atomically(stamp, wanted.encode())
    context.log.info(f"dbt docs written to {page}")
    return dg.MaterializeResult(
        metadata={"path": dg.MetadataValue.path(str(page)), "bytes": page.stat().st_size, "regenerated": True}
    )
