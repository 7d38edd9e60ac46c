"""INSEE grille communale de densité: the communes sheet of the yearly workbook.

Two layouts, told apart by their sheet:

* ``Grille_Densite`` (grille_densite_7_niveaux_<year>.xlsx, up to 2022): DENS is the
  7-level grid and LIBDENS its label;
* ``Maille communale`` (fichier_diffusion_<year>.xlsx, the revised grid): DENS is the
  3-level grid, DENS7 and LIBDENS7 the 7-level one.

Both put four title rows before the header of codes. The reader keeps the columns listed
in :data:`KEPT` under the publisher's names; which one holds the 7-level grid is decided
in dbt staging, vintage by vintage.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from pathlib import Path

import duckdb
import polars as pl

from pipelines.sources.readers.common import (
    IncompleteVintage,
    ParseError,
    describe,
    refuse_date_codes,
    xlsx_sheet_names,
)

SOURCE = "insee_density_grid"
SEVEN_LEVEL_SHEET = "Grille_Densite"
REVISED_SHEET = "Maille communale"
KEPT = ("CODGEO", "LIBGEO", "DENS", "LIBDENS", "DENS7", "LIBDENS7")
REQUIRED = ("CODGEO", "DENS")
# Columns A…Z are read: the widest known layout has 12.
_LETTERS = string.ascii_uppercase
_HEADER_SEARCH_ROWS = 20
_ROW = "_excel_row"  # the row number added to the sheet's cells, apart from the letters A…Z


def read(files: Sequence[Path], vintage: str, source: str = SOURCE) -> dict[str, tuple[pl.DataFrame, Path]]:
    """The communes of the newest workbook of the vintage: {"communes": (frame, file)}."""
    workbooks = [p for p in files if p.name.lower().endswith(".xlsx")]
    if not workbooks:
        names = ", ".join(p.name for p in files) or "no file"
        raise IncompleteVintage(f"{source} {vintage}: no .xlsx workbook among the snapshot files ({names})")
    path = workbooks[0]
    where = describe(source, vintage, path)
    sheet = _communes_sheet(path, where)
    frame = _read_sheet(path, sheet, where)
    _check_layout(frame, sheet, where)
    return {"communes": (frame.select([c for c in KEPT if c in frame.columns]), path)}


def _communes_sheet(path: Path, where: str) -> str:
    names = xlsx_sheet_names(path, where)
    for wanted in (REVISED_SHEET, SEVEN_LEVEL_SHEET):
        if wanted in names:
            return wanted
    raise ParseError(
        f"{where}: no sheet '{REVISED_SHEET}' or '{SEVEN_LEVEL_SHEET}' (sheets: {', '.join(names) or 'none'}); "
        "the workbook layout has changed"
    )


def _read_sheet(path: Path, sheet: str, where: str) -> pl.DataFrame:
    """Every non-empty row of the sheet as text, named after the header row (the one holding CODGEO)."""
    letters = ", ".join(_LETTERS)
    con = duckdb.connect()
    try:
        con.execute("load excel")
        # all_varchar keeps codes as written (01001); empty rows are dropped in DuckDB, after
        # numbering the rows (an empty OVER keeps the sheet's order: _ROW is the Excel row).
        grid = con.execute(
            f"""
            select * from (
                select row_number() over () as {_ROW}, *
                from read_xlsx($path, sheet = $sheet, header = false, all_varchar = true,
                               range = 'A1:Z1048576', stop_at_empty = false)
            )
            where coalesce({letters}) is not null
            """,
            {"path": str(path), "sheet": sheet},
        ).pl()
    except duckdb.Error as exc:
        raise ParseError(f"{where}: sheet '{sheet}' cannot be read ({exc})") from None
    finally:
        con.close()
    rows = grid[_ROW]
    grid = grid.drop(_ROW)
    header_row = next(
        (i for i, row in enumerate(grid.head(_HEADER_SEARCH_ROWS).iter_rows()) if "CODGEO" in row),
        None,
    )
    if header_row is None:
        raise ParseError(
            f"{where}: no header row holding CODGEO in the first {_HEADER_SEARCH_ROWS} rows of sheet "
            f"'{sheet}'; the column of commune codes was renamed or the layout has changed"
        )
    named = {letter: str(name).strip() for letter, name in zip(grid.columns, grid.row(header_row)) if name is not None}
    names = list(named.values())
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ParseError(f"{where}: sheet '{sheet}' has several columns named {', '.join(repeated)}")
    code_letter = next(letter for letter, name in named.items() if name == "CODGEO")
    # Codes typed as dates would come out as their serial numbers, valid-looking codes.
    refuse_date_codes(path, sheet, code_letter, "CODGEO", rows[header_row] + 1, f"{where} (sheet '{sheet}')")
    return grid.slice(header_row + 1).select([pl.col(letter).alias(name) for letter, name in named.items()])


def _check_layout(frame: pl.DataFrame, sheet: str, where: str) -> None:
    """Refuse a workbook that lacks a needed column or whose DENS does not mean what its layout says."""
    # Checked here rather than by validation, which only sees the kept columns.
    for column in REQUIRED:
        if column not in frame.columns:
            raise ParseError(
                f"{where}: column {column} is missing from sheet '{sheet}' (columns: {', '.join(frame.columns)}); "
                "was it renamed?"
            )
    if sheet == REVISED_SHEET:
        if "DENS7" not in frame.columns:
            raise ParseError(
                f"{where}: column DENS7 (the 7-level grid) is missing from sheet '{sheet}', where DENS "
                "is only the 3-level grid"
            )
        if "DENS" in frame.columns:
            above = frame.filter(~pl.col("DENS").is_in(["1", "2", "3"]) & pl.col("DENS").is_not_null())
            if above.height:
                raise ParseError(
                    f"{where}: DENS should be the 3-level grid beside DENS7, but {above.height} rows hold "
                    f"other values (e.g. {above['DENS'][0]!r}); the layout has changed"
                )
