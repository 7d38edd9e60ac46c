"""Exports for dashboards, written after each publish: <data home>/exports/<build id>/ and `latest`;
and the atlas, the static site of maps and portraits: <data home>/atlas/.

Exports of all but the last TERRITOIRES_KEEP_EXPORTS builds (default 5) are removed.
"""

import dagster as dg

from pipelines.atlas.site import write_atlas
from pipelines.orchestration import progress
from pipelines.orchestration.resources import DataHomeLock, WarehouseResource
from pipelines.settings import keep_exports
from pipelines.warehouse.exports import export_warehouse
from pipelines.warehouse.housekeeping import prune_exports


@dg.asset(
    key=["exports", "latest"],
    deps=[dg.AssetKey(["warehouse", "published"])],
    group_name="publish",
    kinds={"parquet", "csv", "geojson"},
    description=(
        "Parquet, CSV and GeoJSON exports of the published warehouse with their manifest.json, "
        "under <data home>/exports/<build id>/; exports/latest is switched to them once complete."
    ),
)
def latest_exports(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, home_lock: DataHomeLock
) -> dg.MaterializeResult:
    home = warehouse.data_home()
    progress.report("exports", status="started")
    report = export_warehouse(home.warehouse, home.exports)
    files = report.manifest["files"]
    removed = prune_exports(home.exports, keep_exports())
    context.log.info(
        f"exported build {report.build_id}: {len(files)} files in {report.path}"
        + (f"; removed the exports of older builds: {', '.join(removed)}" if removed else "")
    )
    progress.report("exports", status="done", path=str(report.path), files=len(files), removed=removed)
    breaking = [c for c in report.manifest["schema_changes"] if c["change"] not in ("added", "file added")]
    if breaking:
        context.log.warning(
            f"exported names or types changed since build {report.manifest['schema_compared_with']}, "
            f"dashboards may break: {breaking}"
        )
    return dg.MaterializeResult(
        metadata={
            "build_id": report.build_id,
            "path": dg.MetadataValue.path(str(report.path)),
            "files": len(files),
            "rows": dg.MetadataValue.json({f["path"]: f["rows"] for f in files}),
            "skipped": dg.MetadataValue.json(report.manifest["skipped"]),
            "schema_changes": dg.MetadataValue.json(report.manifest["schema_changes"]),
            "removed_exports": dg.MetadataValue.json(removed),
        }
    )


@dg.asset(
    key=["atlas", "latest"],
    deps=[dg.AssetKey(["warehouse", "published"])],
    group_name="publish",
    kinds={"html", "javascript"},
    description=(
        "The atlas of the published warehouse: maps of every indicator and programme and a portrait of every "
        "territory, a static offline site under <data home>/atlas/ (index.html), replaced whole once written."
    ),
)
def atlas(context: dg.AssetExecutionContext, warehouse: WarehouseResource, home_lock: DataHomeLock) -> dg.MaterializeResult:
    home = warehouse.data_home()
    progress.report("atlas", status="started")
    report = write_atlas(home.warehouse, home.atlas)
    context.log.info(f"atlas of build {report.build_id}: {report.files} files ({report.bytes:,} B) in {report.path}, {report.seconds:.1f} s")
    progress.report("atlas", status="done", path=str(report.path), files=report.files, bytes=report.bytes, seconds=report.seconds)
    return dg.MaterializeResult(
        metadata={
            "build_id": report.build_id,
            "path": dg.MetadataValue.path(str(report.path / "index.html")),
            "files": report.files,
            "bytes": report.bytes,
            "shape_bytes": dg.MetadataValue.json(report.shape_bytes),
            "seconds": report.seconds,
        }
    )
