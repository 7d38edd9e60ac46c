"""The Dagster code location: every asset, check, resource and job of territoires."""

import dagster as dg

from assets import geography, warehouse
from pipelines.resources import default_resources

all_assets = dg.load_assets_from_modules([geography, warehouse])

build_job = dg.define_asset_job(
    "build_warehouse",
    selection=dg.AssetSelection.all(),
    description="Fetch every source, load, run dbt, publish.",
    executor_def=dg.in_process_executor,
)

defs = dg.Definitions(
    assets=all_assets,
    jobs=[build_job],
    resources=default_resources(),
    executor=dg.in_process_executor,
)
