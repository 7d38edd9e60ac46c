"""INSEE populations légales: donnees_communes.csv, in the yearly ensemble.zip or on its own.

Two layouts are read. Since at least the 2023 release the file is
REG;Région;DEP;CODARR;CODCAN;CODCOM;COM;Commune;PMUN;PCAP;PTOT with COM the 5-character
commune code; older releases wrote CODREG;REG;CODDEP;CODARR;CODCAN;CODCOM;COM;PMUN;PCAP;PTOT
with COM the commune's name, so the code has to be rebuilt from the département code and
the commune part CODCOM. Either way the reader adds the code as CODGEO (the one column
that is not in the file) and keeps only the columns the warehouse uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from pipelines.sources.archives import list_members
from pipelines.sources.readers.common import (
    IncompleteVintage,
    ParseError,
    describe,
    find_member,
    is_archive,
    read_bytes,
    read_csv_text,
)

SOURCE = "insee_population"
FILE_NAME = "donnees_communes.csv"
KEPT_COLUMNS = ("CODGEO", "DEP", "CODDEP", "CODCOM", "PMUN", "PCAP", "PTOT")
REQUIRED_COLUMNS = ("PMUN", "PCAP", "PTOT")


def read(files: Sequence[Path], vintage: str, source: str = SOURCE) -> dict[str, tuple[pl.DataFrame, Path]]:
    """The communes entity of one vintage (newest file first wins), with CODGEO added."""
    found = _locate(files)
    archive = next((p for p in files if is_archive(p)), None)
    if found is None and archive is not None:
        raise ParseError(
            f"{describe(source, vintage, archive)}: the archive holds no {FILE_NAME} "
            f"(it holds {', '.join(list_members(archive)) or 'nothing'}); is it INSEE's ensemble.zip?"
        )
    if found is None:
        names = ", ".join(p.name for p in files) or "no file"
        raise IncompleteVintage(
            f"{source} {vintage}: no {FILE_NAME} among the snapshot files ({names}); "
            "ingest INSEE's ensemble.zip or the CSV itself"
        )
    path, member = found
    where = describe(source, vintage, path) + (f" ({member})" if member else "")
    frame = read_csv_text(read_bytes(path, member), where, separator=";")
    frame = frame.with_columns(commune_code(frame.columns, where).alias("CODGEO"))
    if all(column in frame.columns for column in REQUIRED_COLUMNS):
        frame = frame.select([c for c in KEPT_COLUMNS if c in frame.columns])
    # Otherwise hand every column over, so that the validation can point at a renamed one.
    return {"communes": (frame, path)}


def commune_code(columns: Sequence[str], where: str) -> pl.Expr:
    """The 5-character commune code: COM in the current layout, rebuilt in the older one.

    A département code that lost its leading zero ('1') yields a 4-character code ('1001')
    that the validation refuses, rather than a valid-looking wrong one.
    """
    if "COM" in columns and "Commune" in columns:
        return pl.col("COM")
    departement = next((c for c in ("CODDEP", "DEP") if c in columns), None)
    if departement is None or "CODCOM" not in columns:
        raise ParseError(
            f"{where}: cannot find the commune code: expected COM and Commune (current layout) "
            f"or CODDEP/DEP and CODCOM (older layout), found {', '.join(columns)}"
        )
    dep, number = pl.col(departement), pl.col("CODCOM")
    # The commune part fills what the département code leaves of 5 characters: 01+001, 974+11.
    return (
        pl.when(dep.str.len_chars() == 3)
        .then(dep + number.str.zfill(2))
        .otherwise(dep + number.str.zfill(3))
    )


def _locate(files: Sequence[Path]) -> tuple[Path, str | None] | None:
    """The first file (newest first) that is donnees_communes.csv or an archive holding it."""
    for path in files:
        if path.name == FILE_NAME:
            return path, None
        if is_archive(path):
            member = find_member(path, FILE_NAME)
            if member:
                return path, member
    return None
