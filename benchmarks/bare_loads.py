"""The floor of a source's load: DuckDB alone reading the same files into tables, nothing around it.

A territoires load parses a source's files with its reader, checks them (Great Expectations)
and writes the rows into the build database's raw tables, in a transaction, with their
vintage and snapshot. Its bare counterpart reads the same files of the same vintages with
DuckDB's own readers straight into tables of a new database file, as text, keeping the same
rows (for Sirene: the active establishments of the catalogue's NAF codes and prefixes, and the
closed ones of its recent years), with no check,
no identity, no transaction of its own. Zips are extracted first, as a load must.

    python -m benchmarks.steps bare-load --source insee_bpe --mirror DIR --out DIR/bare.duckdb
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

import duckdb

from pipelines.sources.catalogue import get_source


def _extract(archive: Path, work: Path) -> list[Path]:
    folder = work / archive.stem
    with zipfile.ZipFile(archive) as opened:
        opened.extractall(folder)
    return sorted(p for p in folder.rglob("*") if p.is_file())


def _text_csv(path: Path, delimiter: str) -> str:
    return f"read_csv('{path}', delim = '{delimiter}', header = true, all_varchar = true)"


def _kept(con: duckdb.DuckDBPyConnection, relation: str, entity: str) -> str:
    """The catalogue's columns of an entity that the file has, as text (what a load keeps)."""
    spec = get_source("insee_bpe").entities[entity]
    present = {row[0] for row in con.execute(f"describe select * from {relation}").fetchall()}
    return ", ".join(f'"{c}"::varchar as "{c}"' for c in [*spec["columns"], *spec.get("optional", [])] if c in present)


def insee_bpe(con: duckdb.DuckDBPyConnection, mirror: Path, work: Path) -> None:
    for vintage in sorted(p.name for p in (mirror / "insee_bpe").iterdir()):
        for path in sorted((mirror / "insee_bpe" / vintage).iterdir()):
            if path.suffix == ".parquet":
                relation = f"read_parquet('{path}')"
                con.execute(f"create table bpe_{vintage} as select {_kept(con, relation, 'equipments')} from {relation}")
                continue
            for member in _extract(path, work):
                if member.name.endswith(".csv") and "metadata" not in member.name:
                    relation = _text_csv(member, ";")
                    entity = "commune_counts" if member.name.startswith("DS_BPE") else "equipments"
                    columns = "*" if entity == "commune_counts" else _kept(con, relation, entity)
                    con.execute(f"create table \"{member.stem}\" as select {columns} from {relation}")


def insee_sirene(con: duckdb.DuckDBPyConnection, mirror: Path, work: Path) -> None:
    """The rows the reader keeps: active, or closed within the catalogue's years, of its NAF codes or prefixes."""
    from pipelines.sources.readers.insee_sirene import (
        closed_within_years_for, naf25_codes_for, naf25_prefixes_for, naf_codes_for, naf_prefixes_for,
    )  # fmt: skip

    for stock in sorted((mirror / "insee_sirene").glob("*/StockEtablissement_utf8.parquet")):
        vintage = stock.parent.name
        codes = ", ".join(f"'{code}'" for code in [*naf_codes_for(vintage), *naf25_codes_for(vintage)])
        prefixes = [*naf_prefixes_for(vintage), *naf25_prefixes_for(vintage)]
        starts = " or ".join(f"starts_with(activity, '{p}')" for p in prefixes) or "false"
        since = f"date '{vintage}-01' - interval {closed_within_years_for(vintage)} year"
        columns = ", ".join(f'"{c}"::varchar as "{c}"' for c in get_source("insee_sirene").entities["establishments"]["columns"])
        con.execute(
            f"""
            create table "sirene_{vintage}" as
            select {columns}, "activitePrincipaleNAF25Etablissement"::varchar as "activitePrincipaleNAF25Etablissement"
            from (select *, "activitePrincipaleEtablissement" as activity from read_parquet('{stock}'))
            where ("etatAdministratifEtablissement" = 'A' or "dateDebut" >= {since})
              and (activity in ({codes}) or "activitePrincipaleNAF25Etablissement" in ({codes}) or {starts}
                   or {starts.replace("activity", '"activitePrincipaleNAF25Etablissement"')})
            """
        )


def transport_gtfs(con: duckdb.DuckDBPyConnection, mirror: Path, work: Path) -> None:
    for feed in sorted((mirror / "transport_gtfs").glob("*/*.zip")):
        for member in _extract(feed, work):
            if member.suffix == ".txt":
                con.execute(f"create table \"{feed.stem}_{member.stem}\" as select * from {_text_csv(member, ',')}")


def etalab_decoupage(con: duckdb.DuckDBPyConnection, mirror: Path, work: Path) -> None:
    for path in sorted((mirror / "etalab_decoupage").glob("*/*.json")):
        con.execute(f"create table \"{path.parent.name}_{path.stem}\" as select * from read_json('{path}')")


LOADS: dict[str, Callable[[duckdb.DuckDBPyConnection, Path, Path], None]] = {
    "insee_bpe": insee_bpe,
    "insee_sirene": insee_sirene,
    "transport_gtfs": transport_gtfs,
    "etalab_decoupage": etalab_decoupage,
}


def load(source: str, mirror: Path, database: Path, work: Path) -> dict:
    """Read a source's mirror files into a new database file; its tables and rows."""
    database.unlink(missing_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(database)) as con:
        LOADS[source](con, Path(mirror), work)
        tables = con.execute("select table_name, estimated_size from duckdb_tables()").fetchall()
    return {"tables": len(tables), "rows": sum(rows for _, rows in tables)}
