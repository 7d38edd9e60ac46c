"""DuckDB-only functions stay behind the macros of dbt_project/macros/portable.sql.

Moving the project to another engine then means writing that engine's versions of those
macros, not editing every model. The scan reads the SQL of the models, the other macros
and the generic tests, comments removed.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipelines.settings import DBT_PROJECT_DIR

PORTABLE = DBT_PROJECT_DIR / "macros" / "portable.sql"
# DuckDB functions and syntax with no common equivalent in Spark SQL or Trino.
DUCKDB_ONLY = {
    "arg_min / arg_max": r"\barg_(min|max)\s*\(",
    "regexp_matches / regexp_full_match / regexp_extract": r"\bregexp_(matches|full_match|extract)\s*\(",
    "list aggregate or list function": r"\blist(_[a-z]+)?\s*\(",
    "len()": r"\blen\s*\(",
    "unnest()": r"\bunnest\s*\(",
    "string_agg()": r"\bstring_agg\s*\(",
    "union all by name": r"\bunion\s+all\s+by\s+name\b",
    "spatial st_* function": r"\bst_[a-z]+\s*\(",
    "struct literal {'name': …}": r"\{\s*'[a-z_]+'\s*:",
}
# Comments, and Jinja (macro calls, dicts of arguments) whose output is checked where the macro is.
NOT_SQL = re.compile(r"\{#.*?#\}|\{\{.*?\}\}|\{%.*?%\}|--[^\n]*", re.DOTALL)


def sql_files() -> list[Path]:
    files = [*(DBT_PROJECT_DIR / "models").rglob("*.sql"), *(DBT_PROJECT_DIR / "macros").rglob("*.sql"), *(DBT_PROJECT_DIR / "tests").rglob("*.sql")]
    return sorted(f for f in files if f != PORTABLE)


@pytest.mark.parametrize("path", sql_files(), ids=lambda p: str(p.relative_to(DBT_PROJECT_DIR)))
def test_no_duckdb_only_function_outside_the_portable_macros(path):
    text = NOT_SQL.sub("", path.read_text(encoding="utf-8"))
    found = [name for name, pattern in DUCKDB_ONLY.items() if re.search(pattern, text, re.IGNORECASE)]
    assert not found, f"{path.relative_to(DBT_PROJECT_DIR)} uses {', '.join(found)}: call the macro of macros/portable.sql"


def test_yaml_test_expressions_use_no_duckdb_only_function():
    for path in (DBT_PROJECT_DIR / "models").rglob("*.yml"):
        expressions = re.findall(r"expression:\s*(.+)", path.read_text(encoding="utf-8"))
        for name, pattern in DUCKDB_ONLY.items():
            used = [e for e in expressions if re.search(pattern, e, re.IGNORECASE)]
            assert not used, f"{path.name} uses {name} in a test expression: {used}"


def test_every_portable_macro_has_a_duckdb_default():
    text = PORTABLE.read_text(encoding="utf-8")
    dispatched = set(re.findall(r"adapter\.dispatch\('([a-z_]+)'\)", text))
    defaults = set(re.findall(r"\{% macro default__([a-z_]+)\(", text))
    assert dispatched and dispatched <= defaults, sorted(dispatched - defaults)
