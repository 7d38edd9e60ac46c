"""The Dagster code location: every asset, check, resource and job of territoires."""

import dagster as dg

import assets
from pipelines.orchestration.resources import default_resources
from pipelines.orchestration.schedules import refresh_jobs, schedules
from pipelines.orchestration.sensors import upstream_changes

# One module per family of data under assets/, plus the dbt assets and the publish step.
all_assets = dg.load_assets_from_package_module(assets)

build_job = dg.define_asset_job(
    "build_warehouse",
    selection=dg.AssetSelection.all(),
    description="Fetch every source, load, run dbt, publish.",
    executor_def=dg.in_process_executor,
)

defs = dg.Definitions(
    assets=all_assets,
    jobs=[build_job, *refresh_jobs],
    schedules=schedules,
    sensors=[upstream_changes],
    resources=default_resources(),
    executor=dg.in_process_executor,
)
