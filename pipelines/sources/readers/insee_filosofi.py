"""INSEE Filosofi, base communale: households, median standard of living and poverty rate per commune.

INSEE's zip (``base-cc-filosofi-<year>…_csv.zip``) holds one ``;`` CSV per geographic level;
the communes' one is ``cc_filosofi_<year>_COM.csv`` (found in any folder of the zip; a CSV
given alone is read as is). UTF-8 as published, or Windows-1252 for a spreadsheet's re-save.

The columns carry the last two digits of the income year (MED21, TP6021): the reader checks
that year against the vintage and hands over :data:`COLUMNS` without it. A cell INSEE
withholds (empty, or one of :data:`WITHHELD`) is handed over empty.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from pipelines.sources.archives import list_members
from pipelines.sources.errors import ArchiveError
from pipelines.sources.readers.common import (
    IncompleteVintage,
    ParseError,
    describe,
    is_archive,
    read_bytes,
    read_csv_text,
    sniff_separator,
)

SOURCE = "insee_filosofi"
CODE, NAME = "CODGEO", "LIBGEO"
# Column names without their year, required ones first.
YEARLY = ("NBMENFISC", "MED", "TP60", "NBPERSMENFISC")
REQUIRED = ("NBMENFISC", "MED", "TP60")
COLUMNS = (CODE, NAME, *YEARLY)
# What INSEE writes instead of a value: secret statistique, non disponible, non significatif.
WITHHELD = ("s", "nd", "ns")
COMMUNE_MEMBER = re.compile(r"(?:^|/)cc_filosofi_[0-9]{4}_com\.csv$", re.IGNORECASE)


def read(files: Sequence[Path], vintage: str, source: str = SOURCE) -> dict[str, tuple[pl.DataFrame, Path]]:
    """The communes of the base communale of the vintage's income year: {"communes": (frame, file)}."""
    path = next((p for p in files if is_archive(p) or p.name.lower().endswith(".csv")), None)
    if path is None:
        names = ", ".join(p.name for p in files) or "no file"
        raise IncompleteVintage(
            f"{source} {vintage}: no Filosofi base communale (.zip or .csv) among the snapshot files ({names})"
        )
    where = describe(source, vintage, path)
    member = _commune_member(path, where) if is_archive(path) else None
    if member:
        where = f"{where} ({member})"
    try:
        data = read_bytes(path, member)
    except ArchiveError as exc:
        raise ParseError(f"{where}: {exc}") from None
    return {"communes": (_communes(_decoded(data, where), vintage, where), path)}


def _commune_member(path: Path, where: str) -> str:
    """The zip's commune file, cc_filosofi_<year>_COM.csv."""
    try:
        members = list_members(path)
    except ArchiveError as exc:
        raise ParseError(f"{where}: {exc}") from None
    found = [m for m in members if COMMUNE_MEMBER.search(m)]
    if not found:
        shown = ", ".join(members[:10]) or "nothing"
        raise ParseError(
            f"{where}: the archive holds no commune file cc_filosofi_<year>_COM.csv (it holds: {shown}); "
            "is it the base communale of Filosofi?"
        )
    return min(found, key=len)


def _decoded(data: bytes, where: str) -> bytes:
    """The file's bytes in UTF-8: as published, or from Windows-1252 (a spreadsheet's re-save)."""
    try:
        data.decode("utf-8")
        return data
    except UnicodeDecodeError:
        try:
            return data.decode("cp1252").encode("utf-8")
        except UnicodeDecodeError as exc:
            raise ParseError(f"{where}: neither UTF-8 nor Windows-1252 text (byte {exc.start})") from None


def _communes(data: bytes, vintage: str, where: str) -> pl.DataFrame:
    """CODGEO, LIBGEO and the yearly columns without their year; withheld cells empty."""
    frame = read_csv_text(data, where, separator=sniff_separator(data, ";,"))
    suffix = vintage[-2:]
    if CODE not in frame.columns:
        raise ParseError(f"{where}: column {CODE} is missing (the file has: {', '.join(frame.columns[:30])})")
    renames = {f"{name}{suffix}": name for name in YEARLY if f"{name}{suffix}" in frame.columns}
    missing = [f"{name}{suffix}" for name in REQUIRED if f"{name}{suffix}" not in frame.columns]
    if missing:
        raise ParseError(f"{where}: {_missing_explained(frame.columns, missing, vintage)}")
    kept = [CODE, *([NAME] if NAME in frame.columns else []), *renames]
    value = pl.col(*renames.values()).str.strip_chars()
    withheld = value.str.to_lowercase().is_in(WITHHELD) | (value == "")
    return frame.select(kept).rename(renames).with_columns(pl.when(withheld).then(None).otherwise(value).name.keep())


def _missing_explained(columns: Sequence[str], missing: Sequence[str], vintage: str) -> str:
    """Which columns are missing, and the income year the file holds when it is another one."""
    years = sorted({m.group(1) for c in columns if (m := re.fullmatch(r"MED([0-9]{2})", c))})
    if years:
        return (
            f"column {', '.join(missing)} is missing: the file holds the incomes of 20{years[0]} (MED{years[0]}), "
            f"not {vintage}; is it the right year's file?"
        )
    return f"column {', '.join(missing)} is missing (the file has: {', '.join(columns[:30])}); was it renamed?"
