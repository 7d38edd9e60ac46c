"""ZRR classification of communes: the CSV export of the Observatoire des territoires sheet.

Title lines and a French header line come before the header of codes (CODGEO, LIBGEO,
ZRR_SIMP, ZONAGE_ZRR); the reader starts at that line, whatever the number of lines
before it, and drops the empty lines ("","","","") the export leaves at the end.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from pipelines.sources.readers.common import IncompleteVintage, ParseError, describe, read_bytes, read_csv_text

SOURCE = "anct_zrr"
CODE_HEADER = b"CODGEO"
_HEADER_SEARCH_LINES = 20


def read(files: Sequence[Path], vintage: str, source: str = SOURCE) -> dict[str, tuple[pl.DataFrame, Path]]:
    """The communes of the newest CSV of the vintage: {"communes": (frame, file)}."""
    exports = [p for p in files if p.name.lower().endswith(".csv")]
    if not exports:
        names = ", ".join(p.name for p in files) or "no file"
        if any(p.name.lower().endswith(".xls") for p in files):
            raise ParseError(
                f"{source} {vintage}: only an .xls workbook was given ({names}), and .xls cannot be read here; "
                f"export its sheet 'Classement ZRR (COG {vintage})' as CSV and ingest that"
            )
        raise IncompleteVintage(f"{source} {vintage}: no ZRR list (.csv) among the snapshot files ({names})")
    path = exports[0]
    where = describe(source, vintage, path)
    data = read_bytes(path)
    start, separator = _code_header(data, where)
    frame = read_csv_text(data[start:], where, separator=separator)
    # The export quotes empty cells (""): they are missing values, and rows of them are padding.
    frame = frame.with_columns(pl.all().replace("", None))
    return {"communes": (frame.filter(~pl.all_horizontal(pl.all().is_null())), path)}


def _code_header(data: bytes, where: str) -> tuple[int, str]:
    """(byte offset, separator) of the header line that starts with CODGEO."""
    if not data.strip():
        raise ParseError(f"{where}: the file is empty")
    offset = 0
    for line in data.split(b"\n", _HEADER_SEARCH_LINES)[:_HEADER_SEARCH_LINES]:
        first = line.lstrip(b"\xef\xbb\xbf").lstrip()
        if first.lstrip(b'"').startswith(CODE_HEADER):
            separator = ";" if first.count(b";") > first.count(b",") else ","
            return offset, separator
        offset += len(line) + 1
    raise ParseError(
        f"{where}: no header line starting with CODGEO in the first {_HEADER_SEARCH_LINES} lines; expected title "
        "lines, a French header line, then CODGEO, LIBGEO, ZRR_SIMP, ZONAGE_ZRR (was the code column renamed?)"
    )
