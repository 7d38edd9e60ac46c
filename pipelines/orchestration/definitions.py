"""The Dagster code location: every asset, check, resource, schedule and sensor of territoires.

Builds run the code location's asset job (`__ASSET_JOB`): raw assets are partitioned by
vintage, each source its own way, so a build is several runs (see run_path.py).
`transform_and_publish` is the transformation run on its own, for the UI.
"""

import dagster as dg

import assets
from pipelines.orchestration.resources import default_resources
from pipelines.orchestration.schedules import schedules
from pipelines.orchestration.sensors import upstream_changes

# One module per family of data under assets/, plus the dbt assets and the publish step.
all_assets = dg.load_assets_from_package_module(assets)

transform_job = dg.define_asset_job(
    "transform_and_publish",
    selection=dg.AssetSelection.all() - dg.AssetSelection.key_prefixes("raw"),
    description="Programme inputs, dbt build, publish, exports and docs (a no-op when nothing changed "
    "since the published build). Ingestion runs are started by the schedules, the sensor and "
    "`territoires build`.",
    tags={"territoires/writes": "warehouse"},
)

defs = dg.Definitions(
    assets=all_assets,
    jobs=[transform_job],
    schedules=schedules,
    sensors=[upstream_changes],
    resources=default_resources(),
    executor=dg.in_process_executor,
)
