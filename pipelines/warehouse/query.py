"""Read-only SQL on the published warehouse: no writes, no files, no attachments, no installs."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import polars as pl

FORMATS = ("table", "csv", "json")


class QueryError(RuntimeError):
    """The query could not run; the message says why in a user's terms."""


def open_readonly(warehouse: Path) -> duckdb.DuckDBPyConnection:
    """A connection that can read the warehouse and nothing else.

    The database opens read-only; external access (files, URLs, ATTACH, COPY … TO,
    extension installs) is switched off and the configuration locked so a query
    cannot switch it back on.
    """
    if not warehouse.exists():
        raise QueryError(
            f"no published warehouse at {warehouse}; run `territoires demo` or `territoires build` first"
        )
    return duckdb.connect(
        str(warehouse),
        read_only=True,
        config={
            "enable_external_access": False,
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "lock_configuration": True,
        },
    )


def run_query(warehouse: Path, sql: str) -> pl.DataFrame:
    """The result of one SQL statement as a polars frame."""
    with open_readonly(warehouse) as con:
        try:
            relation = con.sql(sql)
        except duckdb.PermissionException as exc:
            raise QueryError(f"refused: territoires query is read-only and cannot touch files ({exc})") from None
        except duckdb.Error as exc:
            raise QueryError(str(exc)) from None
        if relation is None:
            raise QueryError("the statement returned no rows; territoires query only reads (SELECT, DESCRIBE, SHOW…)")
        return relation.pl()


def render(frame: pl.DataFrame, fmt: str) -> str:
    """A result as an aligned table, CSV or JSON records."""
    if fmt == "csv":
        return frame.write_csv()
    if fmt == "json":
        return json.dumps(frame.to_dicts(), ensure_ascii=False, default=str, indent=1)
    with pl.Config(tbl_rows=200, tbl_cols=30, fmt_str_lengths=60, tbl_hide_dataframe_shape=False):
        return str(frame)
