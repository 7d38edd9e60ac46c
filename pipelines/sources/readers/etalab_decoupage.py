"""Etalab decoupage-administratif: communes, EPCI (with their members), départements, régions.

Accepts the four JSON files, gzipped or not, or the published package archive
(`package/data/<entity>.json`). The communes get a population_year column: the census year
of their population, from the vintage's `population_year` in the catalogue (the package
does not say it).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from pipelines.sources.catalogue import CatalogueError, get_source
from pipelines.sources.readers.common import (
    IncompleteVintage,
    ParseError,
    describe,
    find_member,
    frame_from_records,
    is_archive,
    load_json_records,
    read_bytes,
)

SOURCE = "etalab_decoupage"
FILE_ENTITIES = ("communes", "epci", "departements", "regions")


def _locate(files: Sequence[Path], entity: str) -> tuple[Path, str | None] | None:
    """The first file (newest first) holding <entity>.json, as a file or an archive member."""
    wanted = f"{entity}.json"
    for path in files:
        if path.name in (wanted, wanted + ".gz"):
            return path, None
        if is_archive(path):
            member = find_member(path, wanted)
            if member:
                return path, member
    return None


def read(files: Sequence[Path], vintage: str, source: str = SOURCE) -> dict[str, tuple[pl.DataFrame, Path]]:
    """Entity frames of one vintage, each with the file it came from:
    communes, epci, epci_members, departements, regions."""
    frames: dict[str, tuple[pl.DataFrame, Path]] = {}
    for entity in FILE_ENTITIES:
        found = _locate(files, entity)
        if found is None:
            names = ", ".join(p.name for p in files) or "no file"
            raise IncompleteVintage(
                f"{source} {vintage}: no {entity}.json among the snapshot files ({names}); "
                "ingest the four JSON files or the package .tgz"
            )
        path, member = found
        where = describe(source, vintage, path) + (f" ({member})" if member else "")
        records = load_json_records(read_bytes(path, member), where)
        try:
            if entity == "epci":
                epci, members = _epci_frames(records, where)
                frames["epci"], frames["epci_members"] = (epci, path), (members, path)
            else:
                frame = frame_from_records(records, list_columns=("anciensCodes", "codesPostaux"))
                if entity == "communes":
                    frame = frame.with_columns(pl.lit(population_year(vintage, source), pl.Utf8).alias("population_year"))
                frames[entity] = (frame, path)
        except (pl.exceptions.PolarsError, TypeError) as exc:
            # Objects that are not all objects, or a field of another type in some of them.
            problem = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ParseError(f"{where}: the {entity} objects cannot be read as a table ({problem})") from None
    return frames


def population_year(vintage: str, source: str = SOURCE) -> str | None:
    """The census year of the populations of a vintage: its `population_year` in the catalogue."""
    try:
        year = get_source(source).vintage(vintage).extra.get("population_year")
    except CatalogueError:
        return None
    return str(year) if year is not None else None


def _epci_frames(records: list[dict], where: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The EPCI list and, exploded from its `membres`, one row per member commune."""
    epci = frame_from_records(records)
    if "membres" not in epci.columns:
        raise ParseError(f"{where}: EPCI objects have no 'membres' list; cannot link communes to EPCI")
    if "code" not in epci.columns:
        raise ParseError(f"{where}: EPCI objects have no 'code'; cannot link communes to EPCI")
    members = (
        epci.select(pl.col("code").alias("epci_code"), pl.col("membres"))
        .explode("membres", empty_as_null=True)
        .drop_nulls("membres")
        .unnest("membres")
    )
    members = members.select([pl.col(c).cast(pl.Utf8) for c in members.columns])
    return epci.drop("membres"), members
