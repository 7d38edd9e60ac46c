"""What a warehouse is made of, as hashes: parsers, loaded snapshots and transformation code.

* A loaded vintage is identified by its snapshot hashes and its parser's fingerprint (the
  reader's code, the code every reader shares, the checks, the catalogue entry's entities
  and parse options, the package version): a reader fix re-parses the snapshots it reads.
* The warehouse's inputs fingerprint covers every loaded vintage's identity and the code
  that turns raw tables into the published file (dbt project and seeds, programme rules
  and their code, publish checks, the package version). Two builds with the same
  fingerprint publish the same warehouse, so a build whose fingerprint is the published
  one's stops after ingestion.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path

import duckdb

from pipelines.settings import DBT_PROJECT_DIR, PROJECT_ROOT, DataHome, package_version
from pipelines.sources.catalogue import Source

PIPELINES = PROJECT_ROOT / "pipelines"
# Code every reader relies on: changing it re-parses every source.
SHARED_PARSER_CODE = (
    PIPELINES / "sources" / "readers" / "__init__.py",
    PIPELINES / "sources" / "readers" / "common.py",
    PIPELINES / "sources" / "archives.py",
    PIPELINES / "sources" / "columns.py",
    PIPELINES / "quality",
    PIPELINES / "warehouse" / "ingestion.py",
)
# Code that shapes the published warehouse from the raw tables.
TRANSFORMATION_CODE = (
    DBT_PROJECT_DIR / "models",
    DBT_PROJECT_DIR / "macros",
    DBT_PROJECT_DIR / "seeds",
    DBT_PROJECT_DIR / "tests",
    DBT_PROJECT_DIR / "dbt_project.yml",
    DBT_PROJECT_DIR / "profiles.yml",
    PIPELINES / "programmes",
    PIPELINES / "warehouse" / "publish.py",
)


def _files(paths) -> list[Path]:
    found: set[Path] = set()
    for path in paths:
        path = Path(path)
        if path.is_file():
            found.add(path)
        elif path.is_dir():
            found.update(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    return sorted(found)


def _hash_files(digest, paths) -> None:
    for path in _files(paths):
        digest.update(str(path.relative_to(PROJECT_ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")


@cache
def _shared_parser_hash() -> str:
    digest = hashlib.sha256(package_version().encode())
    _hash_files(digest, SHARED_PARSER_CODE)
    return digest.hexdigest()


def parser_fingerprint(source: Source, vintage: str) -> str:
    """The fingerprint of what parses and checks one vintage of a source."""
    digest = hashlib.sha256(_shared_parser_hash().encode())
    _hash_files(digest, [PIPELINES / "sources" / "readers" / f"{source.reader}.py"])
    spec = {
        "reader": source.reader,
        "entities": source.entities,
        "options": source.vintage(vintage).extra,
    }
    digest.update(json.dumps(spec, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def transformation_fingerprint() -> str:
    """The fingerprint of the code between the raw tables and the published warehouse (rule files included)."""
    from pipelines.programmes.rules import configured_rules_dir

    digest = hashlib.sha256(package_version().encode())
    _hash_files(digest, TRANSFORMATION_CODE)
    for path in sorted(configured_rules_dir().glob("*.yml")):  # wherever TERRITOIRES_RULES_DIR puts them
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def dbt_project_fingerprint() -> str:
    """The fingerprint of the dbt project alone (what its docs page shows)."""
    digest = hashlib.sha256(package_version().encode())
    _hash_files(digest, [p for p in TRANSFORMATION_CODE if p.is_relative_to(DBT_PROJECT_DIR)])
    return digest.hexdigest()


def loaded_inputs(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Per source, the hash of every loaded vintage's identity (snapshots and parser)."""
    tables = {
        r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = 'meta'"
        ).fetchall()
    }  # fmt: skip
    if "raw_load_snapshots" not in tables:
        return {}
    columns = {r[0] for r in con.execute("describe meta.raw_load_snapshots").fetchall()}
    parser = "coalesce(parser_fingerprint, '')" if "parser_fingerprint" in columns else "''"
    rows = con.execute(
        f"select source, vintage, snapshot_sha256, {parser} from meta.raw_load_snapshots order by all"
    ).fetchall()
    by_source: dict[str, hashlib._Hash] = {}
    for source, *identity in rows:
        by_source.setdefault(source, hashlib.sha256()).update("|".join(identity).encode() + b"\n")
    return {source: digest.hexdigest() for source, digest in sorted(by_source.items())}


def inputs_fingerprint_of(con: duckdb.DuckDBPyConnection) -> tuple[str, dict[str, str]]:
    """(fingerprint, its parts) of the build database behind this connection."""
    parts = {"transformation": transformation_fingerprint(), **loaded_inputs(con)}
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True).encode())
    return digest.hexdigest(), parts


def inputs_fingerprint(home: DataHome) -> str:
    """The fingerprint of what the build database holds now, with today's code."""
    with duckdb.connect(str(home.work_db), read_only=True) as con:
        return inputs_fingerprint_of(con)[0]


def published_fingerprint(home: DataHome) -> str | None:
    """The fingerprint recorded in the published warehouse, if any."""
    if not home.warehouse.exists():
        return None
    try:
        with duckdb.connect(str(home.warehouse), read_only=True) as con:
            return con.execute("select inputs_fingerprint from meta.about").fetchone()[0]
    except duckdb.Error:
        return None
