"""The `meta` schema: what was fetched, loaded and built, and from what."""

from __future__ import annotations

import duckdb
import polars as pl

from pipelines.sources.snapshots import RawStore

SNAPSHOT_COLUMNS = {
    "source": pl.Utf8, "vintage": pl.Utf8, "file_name": pl.Utf8, "url": pl.Utf8,
    "sha256": pl.Utf8, "bytes": pl.Int64, "etag": pl.Utf8, "last_modified": pl.Utf8,
    "fetched_at": pl.Utf8, "origin": pl.Utf8, "status": pl.Utf8, "path": pl.Utf8,
}  # fmt: skip

ATTEMPT_COLUMNS = {
    "at": pl.Utf8, "source": pl.Utf8, "vintage": pl.Utf8, "file_name": pl.Utf8, "url": pl.Utf8,
    "origin": pl.Utf8, "status": pl.Utf8, "sha256": pl.Utf8, "bytes": pl.Int64, "error": pl.Utf8,
}  # fmt: skip


def ensure_meta_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the meta tables that are appended to (their history must survive builds)."""
    con.execute("create schema if not exists meta")
    con.execute(
        """
        create table if not exists meta.raw_loads (
            source varchar, vintage varchar, entity varchar, table_name varchar,
            snapshot_sha256 varchar, rows bigint, loaded_at timestamptz
        )
        """
    )
    con.execute(
        """
        create table if not exists meta.raw_load_snapshots (
            source varchar, vintage varchar, snapshot_sha256 varchar, file_name varchar, loaded_at timestamptz,
            parser_fingerprint varchar
        )
        """
    )
    # build databases made before parsers had a fingerprint: their loads are re-parsed once
    con.execute("alter table meta.raw_load_snapshots add column if not exists parser_fingerprint varchar")
    con.execute(
        """
        create table if not exists meta.runs (
            build_id varchar primary key, started_at timestamptz, finished_at timestamptz,
            status varchar, sample_data boolean, geography_vintage varchar,
            dagster_run_id varchar, sources varchar, detail varchar
        )
        """
    )


def refresh_snapshot_tables(con: duckdb.DuckDBPyConnection, store: RawStore) -> int:
    """Rewrite meta.source_snapshots and meta.fetch_attempts from the raw store; returns snapshot count."""
    ensure_meta_tables(con)
    snapshots = pl.DataFrame(
        [
            {
                "source": s.source, "vintage": s.vintage, "file_name": s.file_name, "url": s.url,
                "sha256": s.sha256, "bytes": s.bytes, "etag": s.etag, "last_modified": s.last_modified,
                "fetched_at": s.fetched_at, "origin": s.origin, "status": store.status(s), "path": str(s.path),
            }  # fmt: skip
            for s in store.snapshots()
        ],
        schema=SNAPSHOT_COLUMNS,
    )
    attempts = pl.DataFrame(
        [{k: a.get(k) for k in ATTEMPT_COLUMNS} for a in store.attempts()], schema=ATTEMPT_COLUMNS
    )
    con.execute(
        "create or replace table meta.source_snapshots as "
        "select * replace (fetched_at::timestamptz as fetched_at) from snapshots"
    )
    con.execute(
        "create or replace table meta.fetch_attempts as select * replace (\"at\"::timestamptz as \"at\") from attempts"
    )
    return snapshots.height
