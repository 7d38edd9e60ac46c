"""INSEE's table d'appartenance géographique des communes, and INSEE's per-zoning workbooks.

A vintage is a COG year. Its files can be:

* the table d'appartenance as published (``table-appartenance-geo-communes-<yy>.zip`` holding
  ``table-appartenance-geo-communes-<yy>.xlsx``, or the .xlsx itself): the sheet ``COM``
  (one row per commune, INSEE's title rows above the header ``CODGEO``, ``LIBGEO``, ``DEP``,
  ``REG``, ``ARR``, ``CV``, ``EPCI``, ``ZE2020``, ``UU2020``, ``AAV2020``, ``CATEAAV2020``,
  ``BV2022``…) and the sheet ``Zones_supra_communales`` (``NIVGEO``, ``CODGEO``, ``LIBGEO``:
  the label of every zone);
* a per-zoning workbook such as ``AAV2020_au_01-01-2021.xlsx``: a sheet of communes
  (``Composition_communale``: ``CODGEO``, ``LIBGEO``, ``AAV2020``, ``CATEAAV2020``, ``DEP``,
  ``REG``) and a sheet of the zones (``AAV2020``: ``AAV2020``, ``LIBAAV2020``);
* the ``COM`` sheet re-saved as CSV by a spreadsheet (``;`` or ``,``, Windows-1252 or UTF-8,
  the header on one of the first lines). Such a re-save turns the codes into numbers and drops
  their leading zeros (``1001`` for ``01001``, ``1`` for ``01``): a code of digits shorter
  than its column's width (:data:`CODE_WIDTHS`) is padded back, then every commune code must
  start with its département's code, or the file is refused naming the row.

Sheets are found by their header row, whatever their name: a sheet whose header holds
``CODGEO`` and at least one zoning column is a sheet of communes; one holding ``NIVGEO``,
``CODGEO`` and ``LIBGEO``, or a zoning column ``X`` and ``LIBX``, is a sheet of zone labels.

Two frames: ``communes`` (:data:`COMMUNE_COLUMNS`, a column the file does not have is null)
and ``zones`` (``NIVGEO``, ``CODGEO``, ``LIBGEO``; empty when the file has no labels).
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from pipelines.sources.archives import list_members, read_member
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

SOURCE = "insee_appartenance"
# Width of the codes of each column read: a shorter code of digits lost its leading zeros.
CODE_WIDTHS = {
    "CODGEO": 5, "DEP": 2, "REG": 2, "ARR": 3, "CV": 4, "ZE2020": 4, "UU2020": 5, "AAV2020": 3,
    "CATEAAV2020": 2, "BV2022": 5,
}  # fmt: skip
ZONING_COLUMNS = ("ARR", "CV", "ZE2020", "UU2020", "AAV2020", "BV2022")
COMMUNE_COLUMNS = ("CODGEO", "LIBGEO", "DEP", "REG", *ZONING_COLUMNS, "CATEAAV2020")
ZONE_COLUMNS = ("NIVGEO", "CODGEO", "LIBGEO")
HEADER_SEARCH_ROWS = 20
LAST_ROW = 200_000  # far above the ~35,000 communes
LAST_COLUMN = "AZ"
DECODINGS = ("utf-8-sig", "cp1252")


def read(files: Sequence[Path], vintage: str, source: str = SOURCE) -> dict[str, tuple[pl.DataFrame, Path]]:
    """The communes and zone labels of the vintage's files: {"communes": …, "zones": …}.

    Several files (a table d'appartenance and a per-zoning workbook) are merged: a commune's
    column is taken from the first file that has it.
    """
    readable = [p for p in files if p.name.lower().endswith((".zip", ".xlsx", ".csv", ".csv.gz"))]
    if not readable:
        names = ", ".join(p.name for p in files) or "no file"
        raise IncompleteVintage(f"{source} {vintage}: no table d'appartenance (.zip, .xlsx or .csv) among the snapshot files ({names})")
    communes, zones = [], []
    for path in readable:
        where = describe(source, vintage, path)
        file_communes, file_zones = _read_file(path, where)
        if file_communes is not None:
            communes.append(file_communes)
        zones.extend(file_zones)
    if not communes:
        raise ParseError(
            f"{describe(source, vintage, readable[0])}: no sheet or file of communes (a header row with CODGEO "
            f"and one of {', '.join(ZONING_COLUMNS)})"
        )
    return {
        "communes": (_merge_communes(communes), readable[0]),
        "zones": (_merge_zones(zones), readable[0]),
    }


def _read_file(path: Path, where: str) -> tuple[pl.DataFrame | None, list[pl.DataFrame]]:
    name = path.name.lower()
    if name.endswith(".zip"):
        workbooks = [m for m in list_members(path) if m.lower().endswith(".xlsx")]
        if not workbooks:
            raise ParseError(f"{where}: the archive holds no .xlsx workbook ({', '.join(list_members(path)) or 'nothing'})")
        with tempfile.TemporaryDirectory(prefix="insee_appartenance-") as work:
            member = min(workbooks, key=len)
            extracted = Path(work) / Path(member).name
            extracted.write_bytes(read_member(path, member))
            return _read_workbook(extracted, f"{where} ({Path(member).name})")
    if name.endswith(".xlsx"):
        return _read_workbook(path, where)
    return _read_csv(read_bytes(path), where), []


# ------------------------------------------------------------------------------ workbooks


def _read_workbook(path: Path, where: str) -> tuple[pl.DataFrame | None, list[pl.DataFrame]]:
    sheets = xlsx_sheet_names(path, where)
    communes, zones = None, []
    with excel_connection() as con:
        for sheet in sheets:
            at = f"{where} (sheet '{sheet}')"
            found = _header_row(con, path, sheet, at)
            if found is None:
                continue
            row, header = found
            if "CODGEO" in header and any(c in header for c in ZONING_COLUMNS) and "NIVGEO" not in header:
                if communes is None:
                    refuse_date_codes(path, sheet, _column_letter(header.index("CODGEO")), "CODGEO", row + 2, at)
                    communes = _communes(_sheet(con, path, sheet, row, at), at)
            elif {"NIVGEO", "CODGEO", "LIBGEO"} <= set(header):
                zones.append(_repair(_sheet(con, path, sheet, row, at).select(ZONE_COLUMNS)))
            else:
                for column in ZONING_COLUMNS:
                    if column in header and f"LIB{column}" in header:
                        frame = _sheet(con, path, sheet, row, at)
                        zones.append(
                            frame.select(
                                pl.lit(column).alias("NIVGEO"),
                                _padded(pl.col(column), CODE_WIDTHS[column]).alias("CODGEO"),
                                pl.col(f"LIB{column}").alias("LIBGEO"),
                            )
                        )
                        break
    return communes, zones


def _header_row(con, path: Path, sheet: str, where: str) -> tuple[int, list[str]] | None:
    """(0-based row, cleaned header) of the first of the first rows holding CODGEO, NIVGEO or a
    zoning column and its label (AAV2020 and LIBAAV2020)."""
    top = xlsx_range(con, path, sheet, f"A1:{LAST_COLUMN}{HEADER_SEARCH_ROWS}", header=False, where=where).fetchall()
    for index, row in enumerate(top):
        cells = [(cell or "").strip().upper() for cell in row]
        if "CODGEO" in cells or "NIVGEO" in cells or any(c in cells and f"LIB{c}" in cells for c in ZONING_COLUMNS):
            return index, cells
    return None


def _sheet(con, path: Path, sheet: str, row: int, where: str) -> pl.DataFrame:
    frame = xlsx_range(con, path, sheet, f"A{row + 1}:{LAST_COLUMN}{LAST_ROW}", header=True, where=where).pl()
    frame = frame.rename({c: c.strip().upper() for c in frame.columns if c.strip().upper() not in frame.columns})
    # The range runs past the data: those rows come back empty.
    return frame.filter(~pl.all_horizontal(pl.all().is_null()))




def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


# ------------------------------------------------------------------------------ CSV re-saves


def _read_csv(data: bytes, where: str) -> pl.DataFrame:
    if not data.strip():
        raise ParseError(f"{where}: the file is empty")
    for encoding in DECODINGS:
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # cp1252 leaves five bytes undefined
        raise ParseError(f"{where}: cannot be decoded as UTF-8 or Windows-1252")
    lines = text.splitlines(keepends=True)
    header = next(
        (i for i, line in enumerate(lines[:HEADER_SEARCH_ROWS]) if re.match(r'^\ufeff?"?CODGEO"?\s*[;,\t]', line, re.IGNORECASE)),
        None,
    )
    if header is None:
        raise ParseError(f"{where}: no header line starting with CODGEO in the first {HEADER_SEARCH_ROWS} lines")
    body = "".join(lines[header:]).encode("utf-8")
    frame = read_csv_text(body, where, separator=sniff_separator(body, ";,\t"))
    frame = frame.rename({c: c.strip().upper() for c in frame.columns if c.strip().upper() not in frame.columns})
    if not any(c in frame.columns for c in ZONING_COLUMNS):
        raise ParseError(f"{where}: none of the zoning columns {', '.join(ZONING_COLUMNS)} (columns: {', '.join(frame.columns)})")
    return _communes(frame, where)


# ------------------------------------------------------------------------------ shaping


def _communes(frame: pl.DataFrame, where: str) -> pl.DataFrame:
    """The commune columns, as text, codes padded back to their width, checked against DEP."""
    shaped = frame.select(
        [
            (pl.col(c).cast(pl.Utf8).str.strip_chars() if c in frame.columns else pl.lit(None, pl.Utf8)).alias(c)
            for c in COMMUNE_COLUMNS
        ]
    )
    shaped = shaped.with_columns([_padded(pl.col(c), CODE_WIDTHS[c]).alias(c) for c in CODE_WIDTHS])
    _check_departements(shaped, where)
    return shaped


def _padded(column: pl.Expr, width: int) -> pl.Expr:
    """A code of digits shorter than width padded with zeros (a number cell lost them)."""
    text = column.cast(pl.Utf8).str.strip_chars()
    return pl.when(text.str.contains(r"^[0-9]+$") & (text.str.len_chars() < width)).then(text.str.zfill(width)).otherwise(text)


def _repair(frame: pl.DataFrame) -> pl.DataFrame:
    """Zone labels: NIVGEO upper-cased, each level's codes padded to its width."""
    level = pl.col("NIVGEO").cast(pl.Utf8).str.strip_chars().str.to_uppercase()
    code = pl.col("CODGEO").cast(pl.Utf8).str.strip_chars()
    padded = code
    for name, width in CODE_WIDTHS.items():
        padded = pl.when(level == name).then(_padded(code, width)).otherwise(padded)
    return frame.with_columns(level.alias("NIVGEO"), padded.alias("CODGEO"))


def _check_departements(frame: pl.DataFrame, where: str) -> None:
    """Every commune code starts with its département's code (01001 in 01, 97411 in 974)."""
    if frame["DEP"].null_count() == frame.height:
        return
    rows = frame.with_row_index("row").filter(
        pl.col("DEP").is_not_null() & pl.col("CODGEO").is_not_null() & ~pl.col("CODGEO").str.starts_with(pl.col("DEP"))
    )
    if rows.height:
        first = rows.row(0, named=True)
        raise ParseError(
            f"{where}: column CODGEO: {rows.height} communes are not in their département DEP, e.g. row "
            f"{first['row'] + 1} CODGEO {first['CODGEO']!r} DEP {first['DEP']!r} (codes damaged beyond the lost "
            "leading zeros?)"
        )


def _merge_communes(frames: list[pl.DataFrame]) -> pl.DataFrame:
    """One row per commune: each column from the first frame that has a value for it."""
    if len(frames) == 1:
        return frames[0]
    merged = pl.concat([f.with_columns(pl.lit(i).alias("_order")) for i, f in enumerate(frames)], how="vertical")
    return (
        merged.sort("_order")
        .group_by("CODGEO", maintain_order=True)
        .agg([pl.col(c).drop_nulls().first() for c in COMMUNE_COLUMNS if c != "CODGEO"])
        .select(COMMUNE_COLUMNS)
    )


def _merge_zones(frames: list[pl.DataFrame]) -> pl.DataFrame:
    if not frames:
        return pl.DataFrame(schema={c: pl.Utf8 for c in ZONE_COLUMNS})
    return pl.concat([f.select(ZONE_COLUMNS) for f in frames], how="vertical").unique(
        subset=["NIVGEO", "CODGEO"], keep="first", maintain_order=True
    )
