"""France Ruralités Revitalisation: the list of communes and their FRR classification.

Two layouts with the same columns (Code_insee, Departement, Commune, Classement FRR et
FRR+ au <date>): the ministry's workbook (.xlsx, read with DuckDB's excel extension from
its first sheet, or the first whose name has "FRR", at the header row found by content,
whatever title rows come before it), and its `;` CSV export, each line ending with a `;`
(read from its header line, whatever title lines come before it; in UTF-8 or, re-saved
by a spreadsheet, Windows-1252; with `;`, `,` or tabs).

The classification column's header carries the date of the list ("Classement FRR et FRR+
au 10 juillet 2025"), so each new list would bring a new column name: the reader hands it
over as :data:`CLASSIFICATION` and keeps the date of the header, as YYYY-MM-DD, in
:data:`LIST_DATE`.
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
    read_bytes,
    read_csv_text,
    refuse_date_codes,
    sniff_separator,
    xlsx_range,
    xlsx_sheet_names,
)

SOURCE = "anct_frr"
CLASSIFICATION = "Classement FRR et FRR+"
LIST_DATE = "Date du classement"
CODE = "Code_insee"
HEADER_SEARCH_ROWS = 30  # the header row is looked for in the first rows of the sheet
LAST_ROW = 100_000  # far above the ~35,000 communes
MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
          "novembre", "décembre")  # fmt: skip


def read(files: Sequence[Path], vintage: str, source: str = SOURCE) -> dict[str, tuple[pl.DataFrame, Path]]:
    """The communes of the newest workbook or CSV of the vintage: {"communes": (frame, file)}."""
    path = next((p for p in files if p.name.lower().endswith((".xlsx", ".csv"))), None)
    if path is None:
        names = ", ".join(p.name for p in files) or "no file"
        raise IncompleteVintage(f"{source} {vintage}: no FRR list (.xlsx or .csv) among the snapshot files ({names})")
    where = describe(source, vintage, path)
    if path.name.lower().endswith(".xlsx"):
        frame = _read_workbook(path, where)
    else:
        frame = _read_csv(read_bytes(path), where)
    # Every CSV line ends with ';' (and a sheet may have empty columns): unnamed, empty columns go.
    frame = frame.drop([c for c in frame.columns if not c.strip() and frame[c].is_null().all()])
    return {"communes": (_name_classification(frame, where), path)}


def _read_csv(data: bytes, where: str) -> pl.DataFrame:
    """The CSV export from its header row (the line starting with Code_insee, else the first) on, as text.

    UTF-8 as published, or Windows-1252 when the bytes are not UTF-8 (a spreadsheet's
    re-save); `;` as published, or the separator the header line uses.
    """
    try:
        text = data.decode("utf-8").lstrip("\ufeff")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError as exc:
            raise ParseError(f"{where}: neither UTF-8 nor Windows-1252 text (byte {exc.start})") from None
    lines = text.splitlines(keepends=True)
    found = next(
        (i for i, line in enumerate(lines[:HEADER_SEARCH_ROWS])
         if re.split(r"[;,\t]", line, maxsplit=1)[0].strip().strip('"').casefold() == CODE.casefold()),
        None,
    )  # fmt: skip
    if found is None:
        found = 0  # no title lines to skip: the validation names the column the first line lacks
    body = "".join(lines[found:]).encode("utf-8")
    return read_csv_text(body, where, separator=sniff_separator(body, ";,\t"))


def _read_workbook(path: Path, where: str) -> pl.DataFrame:
    """The rows under the header row (the one starting with Code_insee) of the list's sheet, as text."""
    sheets = xlsx_sheet_names(path, where)
    sheet = next((name for name in sheets if "frr" in name.casefold()), sheets[0] if sheets else None)
    if sheet is None:
        raise ParseError(f"{where}: the workbook has no sheet")
    where = f"{where} (sheet '{sheet}')"
    with excel_connection() as con:
        top = xlsx_range(con, path, sheet, f"A1:Z{HEADER_SEARCH_ROWS}", header=False, where=where).fetchall()
        found = next((i for i, row in enumerate(top) if (row[0] or "").strip().casefold() == CODE.casefold()), None)
        if found is None:
            raise ParseError(
                f"{where}: no header row starting with {CODE} in the first {HEADER_SEARCH_ROWS} rows; expected "
                f"{CODE}, Departement, Commune, 'Classement FRR et FRR+ au <date>' (was the code column renamed?)"
            )
        # The header row is Excel row found + 1; its codes, typed as dates, would come out as serials.
        refuse_date_codes(path, sheet, "A", top[found][0].strip(), found + 2, where)
        width = max(i for i, cell in enumerate(top[found]) if cell and cell.strip()) + 1
        last = chr(ord("A") + width - 1)
        frame = xlsx_range(con, path, sheet, f"A{found + 1}:{last}{LAST_ROW}", header=True, where=where).pl()
    # The range runs past the data: those rows come back empty.
    return frame.filter(~pl.all_horizontal(pl.all().is_null()))




def _name_classification(frame: pl.DataFrame, where: str) -> pl.DataFrame:
    """Rename the dated classification column and keep its date in a column of its own."""
    found = [c for c in frame.columns if c.strip().casefold().startswith("classement frr")]
    if len(found) != 1:
        shown = ", ".join(frame.columns)
        problem = "no column" if not found else f"{len(found)} columns"
        raise ParseError(
            f"{where}: {problem} named 'Classement FRR et FRR+ au <date>' (columns: {shown}); "
            "the classification column was renamed or the layout has changed"
        )
    header = found[0]
    return frame.rename({header: CLASSIFICATION}).with_columns(pl.lit(list_date(header), pl.Utf8).alias(LIST_DATE))


def list_date(header: str) -> str | None:
    """The date of a header such as '… au 10 juillet 2025' as '2025-07-10', or None."""
    match = re.search(r"\bau\s+(1er|\d{1,2})\s+(\w+)\s+(\d{4})\b", header.casefold())
    if not match or match.group(2) not in MONTHS:
        return None
    day = 1 if match.group(1) == "1er" else int(match.group(1))
    return f"{match.group(3)}-{MONTHS.index(match.group(2)) + 1:02d}-{day:02d}"
