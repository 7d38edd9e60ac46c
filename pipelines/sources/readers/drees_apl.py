"""DREES APL (accessibilité potentielle localisée) to general practitioners, per commune.

One workbook holds several APL years, one sheet each (`APL 2022`, `APL 2023`, …) beside a
`Paramètres` sheet; a catalogue vintage is an APL year and reads the sheet `APL <vintage>`.
In that sheet rows 1–8 hold the title and notes, row 9 the header, row 10 the units, and
then comes one row per commune (Paris, Lyon and Marseille by arrondissement municipal).

The two population columns name their census year (`Population standardisée 2021 pour la
médecine générale`, `Population totale 2021`): they come out as POPULATION_STANDARDISEE and
POPULATION_TOTALE, with the year in POPULATION_YEAR, so that every vintage has the same
columns. Every other column keeps the publisher's name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import duckdb
import polars as pl

from pipelines.sources.readers.common import (
    IncompleteVintage,
    ParseError,
    describe,
    excel_connection,
    refuse_date_codes,
    xlsx_sheet_names,
)

SOURCE = "drees_apl"
CODE = "Code commune INSEE"
NAME = "Commune"
STANDARDISED = "POPULATION_STANDARDISEE"
TOTAL = "POPULATION_TOTALE"
POPULATION_YEAR = "POPULATION_YEAR"
POPULATION_COLUMNS = {
    STANDARDISED: re.compile(r"^Population standardisée (\d{4}) pour la médecine générale$"),
    TOTAL: re.compile(r"^Population totale (\d{4})$"),
}
HEADER_ROW = 9  # Excel row number of the header in the published layout
HEADER_SEARCH_ROWS = 30  # the header is looked for in the first rows, in case title lines change
LAST_ROW = 100_000  # far below Excel's limit, far above the ~35,000 communes
COLUMN_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def read(files: Sequence[Path], vintage: str, source: str = SOURCE) -> dict[str, tuple[pl.DataFrame, Path]]:
    """The `communes` frame of one APL year, read from the sheet `APL <vintage>` of the workbook."""
    path = _workbook(files, source, vintage)
    where = describe(source, vintage, path)
    sheet = f"APL {vintage}"
    sheets = xlsx_sheet_names(path, where)
    if sheet not in sheets:
        raise ParseError(
            f"{where}: the workbook has no sheet '{sheet}' (sheets: {', '.join(sheets) or 'none'}); "
            f"it does not hold APL {vintage}, check the file or the vintage"
        )
    with excel_connection() as con:
        return {"communes": (_read_sheet(con, path, sheet, where), path)}


def _workbook(files: Sequence[Path], source: str, vintage: str) -> Path:
    """The newest .xlsx file of the vintage (or the newest file, whose reading will say what it is)."""
    if not files:
        raise IncompleteVintage(f"{source} {vintage}: no snapshot of the APL workbook yet")
    return next((p for p in files if p.name.lower().endswith(".xlsx")), files[0])


def _read_sheet(con: duckdb.DuckDBPyConnection, path: Path, sheet: str, where: str) -> pl.DataFrame:
    """Every commune row of one APL sheet, all columns as text, population columns renamed."""
    header_row, header = _header(con, path, sheet, where)
    where = f"{where} (sheet '{sheet}', header row {header_row})"
    if not header:
        raise ParseError(f"{where}: the header row is empty; is this the APL layout (header in row {HEADER_ROW})?")
    names, year = _output_names(list(header.values()), where)
    code_letter = next((letter for letter, name in header.items() if name == CODE), None)
    if code_letter is not None:
        # A code typed as a date would come out as its serial number, a valid-looking code.
        refuse_date_codes(path, sheet, code_letter, CODE, header_row + 1, where)
    last_letter = list(header)[-1]
    selected = ", ".join(
        f"{letter if name in (CODE, NAME) else _text_of_cell(letter)} as {_quoted(name)}"
        for letter, name in zip(header, names)
    )
    # Without a header the extension names the columns by letter (A, B, ...), whatever the sheet says.
    frame = _query(
        con,
        f"select {selected} from read_xlsx(?, sheet = ?, range = ?, header = false, all_varchar = true)",
        [str(path), sheet, f"A{header_row + 1}:{last_letter}{LAST_ROW}"],
        where,
    ).pl()
    # The units row under the header has no code: start at the first row that has one.
    with_code = frame[frame.columns[0]].is_not_null().arg_true()
    frame = frame.slice(with_code[0]) if len(with_code) else frame.clear()
    # The range runs past the data: those rows come back empty.
    frame = frame.filter(~pl.all_horizontal(pl.all().is_null()))
    return frame.with_columns(pl.lit(year, pl.Utf8).alias(POPULATION_YEAR))


def _header(con: duckdb.DuckDBPyConnection, path: Path, sheet: str, where: str) -> tuple[int, dict[str, str]]:
    """(Excel row number, {column letter: name}) of the header row: the row starting with
    'Code commune INSEE' among the first rows, or row 9 of the published layout."""
    rows = _query(
        con,
        "select * from read_xlsx(?, sheet = ?, range = ?, header = false, all_varchar = true)",
        [str(path), sheet, f"A1:Z{HEADER_SEARCH_ROWS}"],
        f"{where} (sheet '{sheet}')",
    ).fetchall()
    found = next((i for i, row in enumerate(rows) if (row[0] or "").strip() == CODE), HEADER_ROW - 1)
    cells = rows[found] if found < len(rows) else ()
    header = {COLUMN_LETTERS[i]: cell.strip() for i, cell in enumerate(cells) if cell and cell.strip()}
    return found + 1, header


def _query(con: duckdb.DuckDBPyConnection, sql: str, params: list, where: str) -> duckdb.DuckDBPyConnection:
    """Run a read_xlsx query; a workbook DuckDB cannot read becomes a ParseError naming the file."""
    try:
        return con.execute(sql, params)
    except duckdb.Error as exc:
        raise ParseError(f"{where}: the sheet cannot be read ({exc})") from None


def _output_names(header: list[str], where: str) -> tuple[list[str], str]:
    """Column names to output (population columns without their year) and that census year."""
    names, years = [], {}
    for name in header:
        for output, pattern in POPULATION_COLUMNS.items():
            match = pattern.match(name)
            if match:
                names.append(output)
                years[name] = match.group(1)
                break
        else:
            names.append(name)
    for output, pattern in POPULATION_COLUMNS.items():
        if output not in names:
            expected = pattern.pattern.strip("^$").replace(r"(\d{4})", "<year>")
            raise ParseError(
                f"{where}: no column '{expected}' (header: {' | '.join(header)}); "
                "the population columns may have been renamed"
            )
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ParseError(f"{where}: the header names {', '.join(duplicated)} more than once")
    if len(set(years.values())) > 1:
        found = ", ".join(f"'{name}'" for name in years)
        raise ParseError(f"{where}: the population columns are of different years ({found})")
    return names, next(iter(years.values()))


def _quoted(name: str) -> str:
    """A column name as a SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _text_of_cell(column: str) -> str:
    """SQL giving a cell's text, with a decimal number written in its shortest plain form.

    Excel stores 1.828 as 1.8280000000000001 and 0.006 as 6.0000000000000001E-3 (17
    significant digits); DuckDB writes the same double back as 1.828 and 0.006. Whole
    numbers (codes, populations) are left as they are.
    """
    decimal = r"^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$"
    return (
        f"case when regexp_matches({column}, '{decimal}') and regexp_matches({column}, '[.eE]') "
        f"then cast(cast({column} as double) as varchar) else {column} end"
    )
