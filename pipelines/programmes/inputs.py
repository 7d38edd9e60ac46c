"""The programme models' inputs as raw tables: the rule files, and the lists last published.

The rule files are checked (pipelines/programmes/rules.py) and written as four raw
tables, `raw.programme_rules__programmes`, `__criteria`, `__weights` and `__alerts`; the lists of the
published warehouse, read when the build runs, as `raw.programme_published__targets`.
The dbt programme models read them as sources, so an edited rule file or a new published
list reaches the models the same way a new source file does.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from pipelines.programmes.changes import PREVIOUS_COLUMNS, read_previous_targets
from pipelines.programmes.rules import (
    ALERT_SCHEMA, CRITERION_SCHEMA, PROGRAMME_SCHEMA, WEIGHT_SCHEMA, ProgrammeRules, check_dbt_models, load_rules,
    rule_tables,
)  # fmt: skip

RULE_TABLES = {
    "programmes": ("raw.programme_rules__programmes", PROGRAMME_SCHEMA),
    "criteria": ("raw.programme_rules__criteria", CRITERION_SCHEMA),
    "weights": ("raw.programme_rules__weights", WEIGHT_SCHEMA),
    "alerts": ("raw.programme_rules__alerts", ALERT_SCHEMA),
}
PUBLISHED_TARGETS = "raw.programme_published__targets"


def ensure_programme_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the input tables, empty, so that dbt compiles before a first load."""
    con.execute("create schema if not exists raw")
    empty = {name: pl.DataFrame(schema=schema) for name, (_, schema) in RULE_TABLES.items()}
    empty["targets"] = pl.DataFrame(schema=PREVIOUS_COLUMNS)
    for name, (table, _) in [*RULE_TABLES.items(), ("targets", (PUBLISHED_TARGETS, None))]:
        frame = empty[name].to_arrow()  # noqa: F841 - read by DuckDB below
        con.execute(f"create table if not exists {table} as select * from frame")


def write_rule_tables(con: duckdb.DuckDBPyConnection, rules: dict[str, ProgrammeRules] | None = None) -> dict:
    """Check every rule file and replace the rule tables; returns {programme: version}."""
    rules = load_rules() if rules is None else rules
    check_dbt_models(rules)
    tables = rule_tables(rules)
    con.execute("create schema if not exists raw")
    con.execute("begin transaction")
    try:
        for name, (table, _) in RULE_TABLES.items():
            frame = tables[name]  # noqa: F841 - read by DuckDB below
            con.execute(f"create or replace table {table} as select * from frame")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return {name: r.version for name, r in rules.items()}


def write_published_targets(con: duckdb.DuckDBPyConnection, published: Path) -> int:
    """Replace raw.programme_published__targets with the lists of the published warehouse; returns rows."""
    frame = read_previous_targets(published).to_arrow()  # noqa: F841 - read by DuckDB below
    con.execute("create schema if not exists raw")
    con.execute(f"create or replace table {PUBLISHED_TARGETS} as select * from frame")
    return con.execute(f"select count(*) from {PUBLISHED_TARGETS}").fetchone()[0]
