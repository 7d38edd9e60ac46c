"""What a published warehouse was built from, as one hash: loaded snapshots and project code.

Two builds with the same fingerprint publish the same warehouse, so a build whose inputs
did not change since the published one can stop after ingestion.
"""

from __future__ import annotations

import hashlib

import duckdb

from pipelines.settings import DBT_PROJECT_DIR, PROJECT_ROOT, DataHome

# Project files whose change changes what a build publishes.
CODE_GLOBS = (
    (DBT_PROJECT_DIR, ("models/**/*", "macros/**/*", "seeds/**/*", "dbt_project.yml")),
    (PROJECT_ROOT / "pipelines" / "programmes" / "rules", ("*.yml",)),
)


def inputs_fingerprint(home: DataHome) -> str:
    """sha256 of the snapshots loaded in the build database and of the transformation code."""
    digest = hashlib.sha256()
    with duckdb.connect(str(home.work_db), read_only=True) as con:
        tables = {r[0] for r in con.execute("select table_name from information_schema.tables where table_schema = 'meta'").fetchall()}
        if "raw_load_snapshots" in tables:
            for row in con.execute(
                "select source, vintage, snapshot_sha256 from meta.raw_load_snapshots order by all"
            ).fetchall():
                digest.update("|".join(row).encode() + b"\n")
    for folder, patterns in CODE_GLOBS:
        files = sorted({p for pattern in patterns for p in folder.glob(pattern) if p.is_file()})
        for path in files:
            digest.update(str(path.relative_to(PROJECT_ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def published_fingerprint(home: DataHome) -> str | None:
    """The fingerprint recorded in the published warehouse, if any."""
    if not home.warehouse.exists():
        return None
    try:
        with duckdb.connect(str(home.warehouse), read_only=True) as con:
            return con.execute("select inputs_fingerprint from meta.about").fetchone()[0]
    except duckdb.Error:
        return None
