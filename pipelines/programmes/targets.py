"""Reading programme lists from the published warehouse, for `territoires target`.

Every function takes a read-only connection (pipelines.query.open_readonly) and only reads.
"""

from __future__ import annotations

from typing import Any

import duckdb
import polars as pl

from pipelines.programmes.rules import ProgrammeRuleError, load_rules, rule_files

LIST_COLUMNS = [
    "rank_france", "rank_departement", "code", "name", "commune_name", "departement_code", "tier", "score",
    "population", "reason_summary",
]  # fmt: skip


def list_columns(frame: pl.DataFrame) -> list[str]:
    """The columns a person reads in a list: a commune's name once, a hospital's or quartier's with its commune's."""
    communes = frame.height == 0 or frame["unit"][0] == "commune"
    return [c for c in LIST_COLUMNS if not (communes and c == "commune_name")]
NESTED_COLUMNS = ("reasons", "priority")


class ProgrammeNotBuilt(LookupError):
    """The programme has a rule file but no table in the published warehouse."""


def _has_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from duckdb_tables() where schema_name = ? and table_name = ?", [schema, table]
        ).fetchone()[0]
    )


def built_programmes(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The programmes that have a targets table in this warehouse."""
    rows = con.execute(
        "select table_name from duckdb_tables() where schema_name = 'programmes' "
        "and table_name like '%\\_targets' escape '\\' order by table_name"
    ).fetchall()
    return [name.removesuffix("_targets") for (name,) in rows]


def about_build(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """meta.about of the warehouse: build_id, built_at, sample_data, geography_vintage."""
    if not _has_table(con, "meta", "about"):
        return {}
    frame = con.execute("select build_id, built_at, sample_data, geography_vintage from meta.about").pl()
    return frame.to_dicts()[0] if frame.height else {}


def require_programme_table(con: duckdb.DuckDBPyConnection, programme: str) -> str:
    """The quoted table name of a programme's targets; a clear error when it has none."""
    built = built_programmes(con)
    if programme in built:
        return f'programmes."{programme}_targets"'
    known = sorted(set(rule_files()) | set(built))
    if programme in known:
        build = about_build(con).get("build_id", "unknown")
        raise ProgrammeNotBuilt(
            f"programme {programme!r} has a rule file but no table in the published warehouse (build {build}); "
            "run `territoires build` to compute it"
        )
    raise ProgrammeRuleError(f"unknown programme {programme!r}; the programmes are: {', '.join(known)}")


def _check_code(con: duckdb.DuckDBPyConnection, level: str, code: str | None) -> None:
    if code is None:
        return
    table, column = {"departement": ("departement", "departement_code"), "region": ("region", "region_code")}[level]
    if not con.execute(f"select count(*) from geo.{table} where {column} = ?", [code]).fetchone()[0]:
        example = "'71', '2A' or '974'" if level == "departement" else "'27' or '84'"
        raise ProgrammeRuleError(f"no {level} {code!r} in geo.{table}: give a code such as {example}")


def read_targets(
    con: duckdb.DuckDBPyConnection,
    programme: str,
    *,
    departement: str | None = None,
    region: str | None = None,
    top: int | None = None,
) -> pl.DataFrame:
    """The eligible units of a programme in rank order, optionally in one département or région.

    `top` keeps the first N (None or 0: all of them).
    """
    table = require_programme_table(con, programme)
    _check_code(con, "departement", departement)
    _check_code(con, "region", region)
    frame = con.execute(
        f"""
        select * from {table}
        where eligible
          and ($departement is null or departement_code = $departement)
          and ($region is null or region_code = $region)
        order by rank_france
        limit coalesce(nullif($top, 0), 2147483647)
        """,
        {"departement": departement, "region": region, "top": top},
    ).pl()
    return frame


def read_changes(
    con: duckdb.DuckDBPyConnection, programme: str, *, departement: str | None = None, region: str | None = None
) -> pl.DataFrame:
    """What changed in a programme's list since the build before the published one."""
    require_programme_table(con, programme)
    _check_code(con, "departement", departement)
    _check_code(con, "region", region)
    if not _has_table(con, "programmes", f"{programme}_changes"):
        raise ProgrammeNotBuilt(
            f"the published warehouse has no programmes.{programme}_changes table; run `territoires build`"
        )
    return con.execute(
        f"""
        select c.* from programmes."{programme}_changes" as c
        left join geo.commune as g using (commune_code)
        where ($departement is null or c.departement_code = $departement)
          and ($region is null or g.region_code = $region)
        """,
        {"departement": departement, "region": region},
    ).pl()


def flat(frame: pl.DataFrame) -> pl.DataFrame:
    """A frame CSV can hold: nested reasons dropped (reason_summary keeps them), lists joined."""
    frame = frame.drop([c for c in NESTED_COLUMNS if c in frame.columns])
    lists = [name for name, dtype in frame.schema.items() if isinstance(dtype, pl.List)]
    return frame.with_columns(pl.col(name).list.join(", ") for name in lists)


def programme_list(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every programme: its rule file version in the repository, the version and build it was computed with."""
    repo = pl.DataFrame(
        [{"programme": r.programme, "unit": r.unit, "title": r.title, "users": r.users, "rule_file_version": r.version}
         for r in load_rules().values()],  # fmt: skip
        schema={"programme": pl.Utf8, "unit": pl.Utf8, "title": pl.Utf8, "users": pl.Utf8, "rule_file_version": pl.Utf8},
    )
    built = pl.DataFrame(schema={"programme": pl.Utf8, "computed_version": pl.Utf8, "eligible": pl.Int64})
    if _has_table(con, "programmes", "rules"):
        counts = " union all ".join(
            f"select '{p}' as programme, count(*) filter (where eligible) as eligible from programmes.\"{p}_targets\""
            for p in built_programmes(con)
        )
        built = con.execute(
            f"""
            select r.programme, r.version as computed_version, c.eligible
            from programmes.rules as r
            left join ({counts or "select null::varchar as programme, null::bigint as eligible"}) as c using (programme)
            """
        ).pl()
    about = about_build(con)
    listing = repo.join(built, on="programme", how="full", coalesce=True).sort("programme")
    return listing.with_columns(
        pl.lit(about.get("build_id")).alias("build_id"),
        pl.lit(str(about.get("built_at", ""))[:19]).alias("built_at"),
        pl.lit(about.get("geography_vintage")).alias("geography_vintage"),
    )


def render_table(frame: pl.DataFrame) -> str:
    """A frame as a wide, plain text table (long reason summaries stay on one line)."""
    with pl.Config(
        tbl_rows=-1, tbl_cols=-1, tbl_width_chars=400, fmt_str_lengths=400, tbl_hide_column_data_types=True,
        tbl_hide_dataframe_shape=True, tbl_formatting="ASCII_MARKDOWN", float_precision=1,
    ):  # fmt: skip
        return str(frame)
