"""Programmes: the rule files and the last published lists, as the inputs of the programme models.

The rule files are checked when the definitions load, so a wrong file stops the code
location and the message names the file and the entry to fix; `programmes/rule_files`
writes them as raw tables at each build, so an edited file reaches the programme models
(dbt_project/models/marts/programmes/) like a new source file. `programmes/published_targets`
reads the published warehouse's lists when the build runs: each programme's `_changes`
table compares with what was last published, not with an earlier unpublished build.
"""

import dagster as dg

from pipelines.orchestration.resources import DataHomeLock, WarehouseResource
from pipelines.programmes.inputs import write_published_targets, write_rule_tables
from pipelines.programmes.rules import check_dbt_models, load_rules

PROGRAMME_RULES = load_rules()
check_dbt_models(PROGRAMME_RULES)


@dg.asset(
    key=["programmes", "rule_files"],
    group_name="programmes",
    kinds={"yaml", "duckdb"},
    description="The programme rule files of pipelines/programmes/rules/, checked, as the raw tables "
    "raw.programme_rules__programmes, __criteria and __weights.",
)
def programme_rule_files(warehouse: WarehouseResource, home_lock: DataHomeLock) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        versions = write_rule_tables(con)
    return dg.MaterializeResult(metadata={"versions": dg.MetadataValue.json(versions)})


@dg.asset(
    key=["programmes", "published_targets"],
    group_name="programmes",
    kinds={"duckdb"},
    description="Every programme's list in the published warehouse, read when the build runs "
    "(raw.programme_published__targets): what the changes tables compare with.",
)
def published_targets(warehouse: WarehouseResource, home_lock: DataHomeLock) -> dg.MaterializeResult:
    home = warehouse.data_home()
    with warehouse.connect() as con:
        rows = write_published_targets(con, home.warehouse)
    return dg.MaterializeResult(metadata={"rows": rows, "published": dg.MetadataValue.path(str(home.warehouse))})
