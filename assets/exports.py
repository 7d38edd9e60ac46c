"""Exports for dashboards, written after each publish: <data home>/exports/<build id>/ and `latest`."""

import dagster as dg

from pipelines.warehouse.exports import export_warehouse
from pipelines.orchestration.resources import WarehouseResource


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
def latest_exports(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    home = warehouse.data_home()
    report = export_warehouse(home.warehouse, home.exports)
    files = report.manifest["files"]
    context.log.info(f"exported build {report.build_id}: {len(files)} files in {report.path}")
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
        }
    )
