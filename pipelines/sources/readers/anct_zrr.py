"""ZRR classification of communes: the Observatoire des territoires workbook (.xls), or its CSV export.

The workbook (diffusion-zonages-zrr-cog<year>.xls) has one classification sheet per COG,
"Classement ZRR (COG <year>)": the vintage reads the sheet of its year. In a sheet, as in
the CSV export of one, title lines and a French header line come before the header of
codes (CODGEO, LIBGEO, ZRR_SIMP, ZONAGE_ZRR); the reader starts at that row, whatever the
number of rows before it, and drops the empty rows the export leaves at the end.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl
import xlrd

from pipelines.sources.readers.common import IncompleteVintage, ParseError, describe, read_bytes, read_csv_text

SOURCE = "anct_zrr"
CODE_HEADER = "CODGEO"
_HEADER_SEARCH_LINES = 20


def read(files: Sequence[Path], vintage: str, source: str = SOURCE) -> dict[str, tuple[pl.DataFrame, Path]]:
    """The communes of the newest workbook or CSV of the vintage: {"communes": (frame, file)}."""
    path = next((p for p in files if p.name.lower().endswith((".xls", ".csv"))), None)
    if path is None:
        names = ", ".join(p.name for p in files) or "no file"
        raise IncompleteVintage(f"{source} {vintage}: no ZRR list (.xls or .csv) among the snapshot files ({names})")
    where = describe(source, vintage, path)
    if path.name.lower().endswith(".xls"):
        frame = _read_sheet(read_bytes(path), sheet_name(vintage), where)
    else:
        frame = _read_export(read_bytes(path), where)
    # Empty cells are missing values, and rows of them are padding.
    frame = frame.with_columns(pl.all().replace("", None))
    return {"communes": (frame.filter(~pl.all_horizontal(pl.all().is_null())), path)}


def sheet_name(vintage: str) -> str:
    """The workbook's classification sheet for a COG year."""
    return f"Classement ZRR (COG {vintage})"


def _read_sheet(data: bytes, sheet: str, where: str) -> pl.DataFrame:
    """The rows under the CODGEO header of one sheet of an .xls workbook, every cell as text."""
    if not data:
        raise ParseError(f"{where}: the file is empty")
    try:
        book = xlrd.open_workbook(file_contents=data, on_demand=True)
    except Exception as exc:  # xlrd raises several unrelated types for a file that is not an .xls
        raise ParseError(f"{where}: not an Excel 97-2003 (.xls) workbook ({exc})") from None
    if sheet not in book.sheet_names():
        raise ParseError(
            f"{where}: the workbook has no sheet '{sheet}' (sheets: {', '.join(book.sheet_names())}); "
            "it does not hold the classification on that COG, check the file or the vintage"
        )
    try:
        try:
            cells = book.sheet_by_name(sheet)  # on demand: the sheet's records are decoded here
        except Exception as exc:  # a damaged record: a truncated string, a bad length, an unknown type
            raise ParseError(f"{where}: the sheet '{sheet}' is damaged and cannot be read ({type(exc).__name__}: {exc})") from None
        return _sheet_rows(cells, f"{where} (sheet '{sheet}')")
    finally:
        book.release_resources()


def _sheet_rows(cells: xlrd.sheet.Sheet, where: str) -> pl.DataFrame:
    """The rows under the header row that starts with CODGEO, one text column per header cell."""
    first_column = cells.col_values(0, 0, min(cells.nrows, _HEADER_SEARCH_LINES)) if cells.ncols else []
    header_row = next((i for i, v in enumerate(first_column) if str(v).strip() == CODE_HEADER), None)
    if header_row is None:
        raise ParseError(f"{where}: {_NO_HEADER}")
    header = [str(v).strip() for v in cells.row_values(header_row)]
    columns = {}
    for index, name in enumerate(header):
        if not name:
            continue
        if name in columns:
            raise ParseError(f"{where}: the header names {name} more than once")
        columns[name] = _column_text(cells, index, header_row + 1)
    return pl.DataFrame(columns)


def _column_text(cells: xlrd.sheet.Sheet, index: int, start: int) -> pl.Series:
    """One column of cells as text: a number cell as Excel shows it (1001, not 1001.0)."""
    column = pl.DataFrame(
        {"text": pl.Series(cells.col_values(index, start), dtype=pl.Utf8, strict=False),
         "type": pl.Series(cells.col_types(index, start), dtype=pl.Int8)}
    )  # fmt: skip
    is_number = pl.col("type") == xlrd.XL_CELL_NUMBER
    return column.select(pl.when(is_number).then(pl.col("text").str.replace(r"\.0$", "")).otherwise("text")).to_series()


def _read_export(data: bytes, where: str) -> pl.DataFrame:
    """The CSV export of a classification sheet, from its CODGEO header line."""
    if not data.strip():
        raise ParseError(f"{where}: the file is empty")
    offset = 0
    for line in data.split(b"\n", _HEADER_SEARCH_LINES)[:_HEADER_SEARCH_LINES]:
        first = line.lstrip(b"\xef\xbb\xbf").lstrip()
        if first.lstrip(b'"').startswith(CODE_HEADER.encode()):
            separator = ";" if first.count(b";") > first.count(b",") else ","
            return read_csv_text(data[offset:], where, separator=separator)
        offset += len(line) + 1
    raise ParseError(f"{where}: {_NO_HEADER}")


_NO_HEADER = (
    f"no header line starting with CODGEO in the first {_HEADER_SEARCH_LINES} lines; expected title lines, a French "
    "header line, then CODGEO, LIBGEO, ZRR_SIMP, ZONAGE_ZRR (was the code column renamed?)"
)
