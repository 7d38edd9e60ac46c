"""The previous lists: what each programme's targets were in the last published warehouse.

dbt compares them with the lists it has just computed (programmes.<programme>_changes).
They come from the published warehouse, not from the build database, so a build that was
computed but never published (a failed check) does not count as "the last run"; they are
read when the build runs (pipelines/programmes/inputs.py).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl


REASON = pl.Struct({
    "indicator_id": pl.Utf8, "tier": pl.Int32, "value": pl.Float64, "category": pl.Utf8, "vintage": pl.Utf8,
    "operator": pl.Utf8, "threshold": pl.Utf8, "passed": pl.Boolean, "source_vintages": pl.Utf8,
})  # fmt: skip
PREVIOUS_COLUMNS = {
    "programme": pl.Utf8, "unit": pl.Utf8, "code": pl.Utf8, "name": pl.Utf8, "commune_code": pl.Utf8,
    "commune_name": pl.Utf8, "departement_code": pl.Utf8, "eligible": pl.Boolean, "tier": pl.Int32,
    "score": pl.Float64, "rank_france": pl.Int64, "rank_departement": pl.Int64, "reasons": pl.List(REASON),
    "rule_version": pl.Utf8, "build_id": pl.Utf8, "built_at": pl.Datetime("us", "UTC"),
}  # fmt: skip
# A list published before programmes had units: its communes are the units.
BEFORE_UNITS = {"unit": "'commune'", "code": "commune_code", "name": "commune_name"}


def read_previous_targets(published: Path | None) -> pl.DataFrame:
    """Every programme's targets in the published warehouse `published`, with its build id.

    Empty when nothing is published yet or the published build has no programme tables
    (a programme added since then has no previous list: its changes table stays empty).
    """
    empty = pl.DataFrame(schema=PREVIOUS_COLUMNS)
    if published is None or not published.exists():
        return empty
    with duckdb.connect(str(published), read_only=True) as con:
        tables = [
            row[0]
            for row in con.execute(
                "select table_name from duckdb_tables() where schema_name = 'programmes' "
                "and table_name like '%\\_targets' escape '\\' order by table_name"
            ).fetchall()
        ]
        has_about = con.execute(
            "select count(*) from duckdb_tables() where schema_name = 'meta' and table_name = 'about'"
        ).fetchone()[0]
        about = "meta.about" if has_about else "(select null as build_id, null as built_at)"
        frames = [empty]
        wanted = [c for c in PREVIOUS_COLUMNS if c not in ("build_id", "built_at")]
        for table in tables:
            columns = {row[0] for row in con.execute(f'describe programmes."{table}"').fetchall()}
            selected = [c if c in columns else f"{BEFORE_UNITS.get(c, 'null')} as {c}" for c in wanted]
            if not {"commune_code", "eligible", "rank_france"} <= columns:
                continue  # a table of an older layout: no previous list for that programme
            frame = con.execute(
                f'select {", ".join(selected)}, about.build_id, about.built_at '
                f'from programmes."{table}" cross join {about} as about'
            ).pl()
            frames.append(frame.cast(PREVIOUS_COLUMNS))  # type: ignore[arg-type]
    return pl.concat(frames)
