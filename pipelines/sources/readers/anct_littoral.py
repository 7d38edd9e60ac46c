"""Communes of the loi Littoral: the DGALN workbook the Observatoire des territoires publishes.

The list is the sheet ``Perimetre`` of an .xlsx (accents and case ignored; the first sheet
when none has that name), read with DuckDB's excel extension from its header row: the first
of its first :data:`HEADER_SEARCH_ROWS` rows holding a cell ``INSEE_COM``, whatever title rows
come before it and in whichever column. It hands over :data:`KEPT`, the columns it has.

A code stored as a number cell loses its leading zero (01004 → 1004): a code of one to four
digits is padded to five.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from pipelines.sources.readers.common import (
    IncompleteVintage,
    ParseError,
    describe,
    excel_connection,
    plain_text,
    xlsx_range,
    xlsx_sheet_names,
)

SOURCE = "anct_littoral"
CODE, CLASSIFICATION, NAME = "INSEE_COM", "CLASSEMENT", "NOM_COM"
KEPT = (CODE, NAME, CLASSIFICATION)
SHEET = "perimetre"
HEADER_SEARCH_ROWS = 30
LAST_ROW = 100_000  # far above the ~1,200 communes of the list
LAST_COLUMN = "Z"
# The names DuckDB gives the columns of a range whose header cell is empty.
UNNAMED = re.compile(r"(?:C|_)[0-9]+")


def read(files: Sequence[Path], vintage: str, source: str = SOURCE) -> dict[str, tuple[pl.DataFrame, Path]]:
    """The communes of the vintage's workbook: {"communes": (frame, file)}."""
    path = next((p for p in files if p.name.lower().endswith(".xlsx")), None)
    if path is None:
        names = ", ".join(p.name for p in files) or "no file"
        raise IncompleteVintage(f"{source} {vintage}: no loi Littoral workbook (.xlsx) among the snapshot files ({names})")
    where = describe(source, vintage, path)
    sheets = xlsx_sheet_names(path, where)
    if not sheets:
        raise ParseError(f"{where}: the workbook has no sheet")
    sheet = next((name for name in sheets if plain_text(name) == SHEET), sheets[0])
    return {"communes": (_communes(path, sheet, f"{where} (sheet '{sheet}')"), path)}


def _communes(path: Path, sheet: str, where: str) -> pl.DataFrame:
    """The kept columns of the rows under the header row, as text, codes padded to five characters."""
    with excel_connection() as con:
        top = xlsx_range(con, path, sheet, f"A1:{LAST_COLUMN}{HEADER_SEARCH_ROWS}", header=False, where=where).fetchall()
        found = next((i for i, row in enumerate(top) if any(_is_code_header(cell) for cell in row)), None)
        if found is None:
            raise ParseError(
                f"{where}: no header row with a column {CODE} in the first {HEADER_SEARCH_ROWS} rows; expected "
                f"{CODE} and {CLASSIFICATION} (was the code column renamed?)"
            )
        frame = xlsx_range(con, path, sheet, f"A{found + 1}:{LAST_COLUMN}{LAST_ROW}", header=True, where=where).pl()
    frame = frame.rename({c: c.strip() for c in frame.columns if c.strip() != c and c.strip() not in frame.columns})
    if CLASSIFICATION not in frame.columns:
        shown = ", ".join(c for c in frame.columns if not UNNAMED.fullmatch(c)) or "no named column"
        raise ParseError(f"{where}: column {CLASSIFICATION} is missing from the header row (it has: {shown})")
    # The range runs past the data: those rows come back empty.
    kept = frame.select([c for c in KEPT if c in frame.columns]).filter(~pl.all_horizontal(pl.all().is_null()))
    code = pl.col(CODE).str.strip_chars()
    return kept.with_columns(pl.when(code.str.contains(r"^[0-9]{1,4}$")).then(code.str.zfill(5)).otherwise(pl.col(CODE)).alias(CODE))




def _is_code_header(cell: str | None) -> bool:
    return cell is not None and cell.strip() == CODE

