"""What every reader shares: decoding files, finding archive members, clear errors."""

from __future__ import annotations

import gzip
import io
import json
import posixpath
import re
import unicodedata
import zipfile
import zlib
from xml.etree import ElementTree
from pathlib import Path

import duckdb
import polars as pl

from pipelines.sources.archives import list_members, read_member


SPREADSHEET_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


class ParseError(ValueError):
    """A raw file could not be read; the message names the source, vintage and file."""


class IncompleteVintage(ParseError):
    """A file the vintage needs has no snapshot yet (nothing wrong with the others)."""


def describe(source: str, vintage: str, path: Path) -> str:
    """'<source> <vintage> <file name>', the prefix of every reader message."""
    return f"{source} {vintage} {path.name}"


def read_bytes(path: Path, member: str | None = None) -> bytes:
    """The bytes of a file, gunzipped when it ends in .gz, or of one member of an archive."""
    if member is not None:
        return read_member(path, member)
    data = path.read_bytes()
    if path.name.endswith(".gz") and not path.name.endswith((".tar.gz", ".tgz")):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise ParseError(f"{path.name}: not a readable gzip file ({exc}); is the file complete?") from None
    return data


def is_archive(path: Path) -> bool:
    return path.name.endswith((".tgz", ".tar.gz", ".tar", ".zip"))


def find_member(path: Path, file_name: str) -> str | None:
    """The archive member whose base name is file_name (e.g. package/data/communes.json)."""
    matches = [m for m in list_members(path) if m.rsplit("/", 1)[-1] == file_name]
    return min(matches, key=len) if matches else None


def load_json_records(data: bytes, where: str) -> list[dict]:
    """A JSON array of objects, or a ParseError saying what was found instead."""
    try:
        value = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ParseError(f"{where}: not valid UTF-8 JSON ({exc}); is the file complete?") from None
    if not isinstance(value, list) or (value and not isinstance(value[0], dict)):
        raise ParseError(f"{where}: expected a JSON array of objects, found {type(value).__name__}")
    if not value:
        raise ParseError(f"{where}: the JSON array is empty")
    return value


def frame_from_records(records: list[dict], list_columns: tuple[str, ...] = ()) -> pl.DataFrame:
    """Records → frame with every scalar column as text and the named columns as lists of text."""
    frame = pl.from_dicts(records, infer_schema_length=None)
    casts = []
    for name, dtype in frame.schema.items():
        if name in list_columns:
            casts.append(pl.col(name).cast(pl.List(pl.Utf8)))
        elif isinstance(dtype, (pl.List, pl.Struct)):
            casts.append(pl.col(name))
        else:
            casts.append(pl.col(name).cast(pl.Utf8))
    return frame.select(casts)


def read_csv_text(data: bytes, where: str, *, separator: str = ",", encoding: str = "utf-8") -> pl.DataFrame:
    """A delimited text file with every column kept as text (codes keep their leading zeros)."""
    if not data.strip():
        raise ParseError(f"{where}: the file is empty")
    try:
        text = data.decode(encoding).lstrip("\ufeff")
    except UnicodeDecodeError as exc:
        raise ParseError(
            f"{where}: cannot be decoded as {encoding} (byte {exc.start}); "
            "the publisher may have changed the encoding"
        ) from None
    try:
        frame = pl.read_csv(io.StringIO(text), separator=separator, infer_schema=False)
    except pl.exceptions.PolarsError as exc:
        raise ParseError(f"{where}: not a readable '{separator}'-separated file ({exc})") from None
    # Blank lines (often at the end of a file) come back as rows of nulls.
    return frame.filter(~pl.all_horizontal(pl.all().is_null()))


def excel_connection() -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the excel extension loaded, or a clear error saying how to install it."""
    con = duckdb.connect()
    try:
        con.execute("load excel")
    except duckdb.Error as exc:
        con.close()
        raise RuntimeError(
            "DuckDB's excel extension is not installed: run `python -m pipelines.warehouse.extensions` once"
        ) from exc
    return con


def xlsx_range(con: duckdb.DuckDBPyConnection, path: Path, sheet: str, cells: str, *, header: bool, where: str) -> duckdb.DuckDBPyConnection:
    """read_xlsx of a range (A1:Z30), every cell as text; a sheet DuckDB cannot read becomes a ParseError."""
    try:
        return con.execute(
            "select * from read_xlsx(?, sheet = ?, range = ?, header = ?, all_varchar = true)",
            [str(path), sheet, cells, header],
        )
    except duckdb.Error as exc:
        raise ParseError(f"{where}: the sheet cannot be read ({exc})") from None


def plain_text(text: str) -> str:
    """Text to compare by its letters alone: no accents, no case, typographic apostrophes as
    plain ones, no surrounding spaces ('Référentiel géographique ' → 'referentiel geographique')."""
    decomposed = unicodedata.normalize("NFKD", text.replace("\u2019", "'"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).strip().casefold()


def sniff_separator(data: bytes, candidates: str = ",;") -> str:
    """The separator a delimited file uses: the candidate found most often on its header line,
    outside quoted names (the first candidate on a tie)."""
    header = re.sub(rb'"[^"]*"', b"", data.lstrip(b"\xef\xbb\xbf").split(b"\n", 1)[0])
    return max(candidates, key=lambda c: header.count(c.encode()))


def xlsx_sheet_names(path: Path, where: str) -> list[str]:
    """The sheet names of an .xlsx workbook, in order, or a ParseError saying what the file is instead."""
    if path.stat().st_size == 0:
        raise ParseError(f"{where}: the file is empty")
    try:
        with zipfile.ZipFile(path) as archive:
            workbook = archive.read("xl/workbook.xml")
    except zipfile.BadZipFile:
        raise ParseError(
            f"{where}: not an Excel .xlsx workbook (not a zip archive; a CSV or an old .xls file?)"
        ) from None
    except NotImplementedError as exc:  # zipfile: a zip version or compression it cannot read
        raise ParseError(f"{where}: not an Excel .xlsx workbook, or a damaged one ({exc})") from None
    except (zlib.error, EOFError) as exc:  # a member whose compressed bytes are damaged
        raise ParseError(f"{where}: a damaged Excel workbook (xl/workbook.xml cannot be decompressed: {exc})") from None
    except KeyError:
        raise ParseError(f"{where}: a zip archive but not an Excel workbook (no xl/workbook.xml)") from None
    try:
        root = ElementTree.fromstring(workbook)
    except ElementTree.ParseError as exc:
        raise ParseError(f"{where}: the workbook's sheet list (xl/workbook.xml) is damaged ({exc})") from None
    return [node.get("name", "") for node in root.iter(f"{SPREADSHEET_NS}sheet")]


RELATIONSHIPS_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
OFFICE_RELATIONSHIP_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
# Built-in number formats that show a date or a time: the international ones (14–22, 45–47)
# and those Excel reserves for East Asian locales (27–36, 50–58).
BUILTIN_DATE_FORMATS = frozenset([*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)])
# What a format code shows as is, not as a date part: quoted text, an escaped character,
# a fill or spacing character (*x, _x), and bracketed parts other than the elapsed-time
# ones ([h], [mm], [ss]): colours, conditions, locales.
_FORMAT_LITERALS = re.compile(r'"[^"]*"|\\.|[*_].|\[(?![hms]+\])[^\]]*\]', re.IGNORECASE)
_DATE_PARTS = re.compile(r"[dmyhs]", re.IGNORECASE)


def xlsx_date_cells(path: Path, sheet: str, column: str, first_row: int, where: str) -> list[tuple[int, str]]:
    """(Excel row number, raw value) of the cells of one column, from first_row on, that hold dates.

    A cell holds a date when it is numeric and styled with a date or time format, or typed
    as a date (t="d"). DuckDB's read_xlsx hands such a cell over as its serial number
    (2001-01-02 as '36893'), which nothing else tells from a number. The sheet is not read
    when the workbook has no date format, and parsed (streamed, row by row) only when a scan
    of its bytes finds a date style or a date type in it.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            part = _sheet_part(archive, sheet, where)
            date_styles = _date_styles(archive, where)
            if not date_styles or not _mentions_dates(archive, part, date_styles):
                return []
            with archive.open(part) as stream:
                return _date_cells_of_sheet(stream, date_styles, column, first_row)
    except ParseError:
        raise
    except (zipfile.BadZipFile, NotImplementedError) as exc:
        raise ParseError(f"{where}: not an Excel .xlsx workbook, or a damaged one ({exc})") from None
    except (ElementTree.ParseError, ValueError, zlib.error, EOFError) as exc:
        # ValueError: a row, style or format number that is not a number.
        raise ParseError(f"{where}: sheet '{sheet}' of the workbook is damaged ({exc})") from None


def refuse_date_codes(path: Path, sheet: str, column: str, name: str, first_row: int, where: str) -> None:
    """A ParseError when cells of the code column, from first_row on, hold dates instead of codes."""
    dates = xlsx_date_cells(path, sheet, column, first_row, where)
    if not dates:
        return
    row, value = dates[0]
    shown = f"serial {value}" if re.fullmatch(r"[0-9.]+", value) else value
    rows = "row" if len(dates) == 1 else "rows"
    raise ParseError(
        f"{where}: column {name} holds dates, not codes, in {len(dates)} {rows} (e.g. row {row}: {shown}); "
        "the workbook was probably re-saved by a spreadsheet that read the codes as dates: use the original file"
    )


def _xml_part(archive: zipfile.ZipFile, name: str, where: str) -> ElementTree.Element:
    """One small XML part of the workbook, parsed, or a ParseError naming it."""
    try:
        return ElementTree.fromstring(archive.read(name))
    except KeyError:
        raise ParseError(f"{where}: the workbook has no {name}; is it an Excel .xlsx file?") from None
    except ElementTree.ParseError as exc:
        raise ParseError(f"{where}: the workbook's {name} is damaged ({exc})") from None


def _relationships(archive: zipfile.ZipFile, where: str) -> dict[str, tuple[str, str]]:
    """{relationship id: (type, archive member)} of the workbook part."""
    root = _xml_part(archive, "xl/_rels/workbook.xml.rels", where)
    found = {}
    for node in root.iter(f"{RELATIONSHIPS_NS}Relationship"):
        target = node.get("Target", "")
        member = target.lstrip("/") if target.startswith("/") else posixpath.normpath(f"xl/{target}")
        found[node.get("Id", "")] = (node.get("Type", ""), member)
    return found


def _sheet_part(archive: zipfile.ZipFile, sheet: str, where: str) -> str:
    """The archive member holding the named sheet."""
    workbook = _xml_part(archive, "xl/workbook.xml", where)
    ids = {node.get("name"): node.get(OFFICE_RELATIONSHIP_ID) for node in workbook.iter(f"{SPREADSHEET_NS}sheet")}
    if sheet not in ids:
        raise ParseError(f"{where}: the workbook has no sheet '{sheet}'")
    _, member = _relationships(archive, where).get(ids[sheet], ("", ""))
    if member not in archive.namelist():
        raise ParseError(f"{where}: the part of sheet '{sheet}' ({member or 'unnamed'}) is missing from the workbook")
    return member


def _date_styles(archive: zipfile.ZipFile, where: str) -> frozenset[int]:
    """The indexes of the cell styles (cellXfs) whose number format shows a date or a time.

    A workbook without a styles part has only the default style, which is not a date.
    """
    members = [m for kind, m in _relationships(archive, where).values() if kind.endswith("/styles")]
    if not members or members[0] not in archive.namelist():
        return frozenset()
    styles = _xml_part(archive, members[0], where)
    custom = {
        int(node.get("numFmtId", "-1")): node.get("formatCode", "")
        for node in styles.iter(f"{SPREADSHEET_NS}numFmt")
    }
    cell_formats = styles.find(f"{SPREADSHEET_NS}cellXfs")
    formats = [] if cell_formats is None else cell_formats.findall(f"{SPREADSHEET_NS}xf")
    return frozenset(
        index for index, xf in enumerate(formats) if _is_date_format(int(xf.get("numFmtId", "0")), custom)
    )


def _is_date_format(format_id: int, custom: dict[int, str]) -> bool:
    """Whether a number format shows a date or a time: a built-in date format, or a format
    code with a day, month, year, hour or second part outside its literal text."""
    if format_id in custom:
        return _DATE_PARTS.search(_FORMAT_LITERALS.sub("", custom[format_id])) is not None
    return format_id in BUILTIN_DATE_FORMATS


def _mentions_dates(archive: zipfile.ZipFile, part: str, date_styles: frozenset[int]) -> bool:
    """Whether the sheet's XML has an element in one of the date styles (s="…") or typed as a
    date (t="d"): a scan of its bytes, chunk by chunk, many times faster than parsing it.

    It may answer yes when no cell holds a date (a row's style, such text in a cell), never
    the reverse.
    """
    if 0 in date_styles:  # the default style, which cells without an s attribute have
        return True
    styles = b"|".join(str(index).encode() for index in sorted(date_styles))
    pattern = re.compile(rb"""\ss\s*=\s*["'](?:""" + styles + rb""")["']|\st\s*=\s*["']d["']""")
    overlap = 64  # longer than any match (with the spacing writers use): none is missed across chunks
    tail = b""
    with archive.open(part) as stream:
        while chunk := stream.read(1 << 20):
            if pattern.search(tail + chunk):
                return True
            tail = chunk[-overlap:]
    return False


def _date_cells_of_sheet(stream, date_styles: frozenset[int], column: str, first_row: int) -> list[tuple[int, str]]:
    """Stream a sheet's XML row by row (dropping each row once seen) for the date cells of one column."""
    sheet_data_tag, row_tag = f"{SPREADSHEET_NS}sheetData", f"{SPREADSHEET_NS}row"
    index = _column_index(column)
    found, sheet_data, number = [], None, 0
    for event, element in ElementTree.iterparse(stream, events=("start", "end")):
        if event == "start":
            if element.tag == sheet_data_tag:
                sheet_data = element
            continue
        if element.tag != row_tag:
            continue
        number = int(element.get("r") or number + 1)  # rows without a number follow the previous one
        if number >= first_row:
            cell = _cell_of_row(element, column, index)
            value = None if cell is None else _date_value(cell, date_styles)
            if value is not None:
                found.append((number, value))
        if sheet_data is not None:
            sheet_data.clear()
    return found


def _cell_of_row(row: ElementTree.Element, column: str, index: int) -> ElementTree.Element | None:
    """The row's cell in the column (letters such as 'A'; index, its 1-based number), or None.

    Cells name their column in their reference (r="A12"); one without a reference comes
    right after the previous cell.
    """
    position = 0
    for cell in row:
        reference = cell.get("r")
        if reference is None:
            position += 1
            if position == index:
                return cell
            continue
        letters = reference.rstrip("0123456789")
        if letters == column:
            return cell
        position = _column_index(letters)
        if position > index:  # cells come in column order: the column has no cell in this row
            return None
    return None


def _date_value(cell: ElementTree.Element, date_styles: frozenset[int]) -> str | None:
    """A cell's raw value when it holds a date (a number in a date style, or typed as a date), else None."""
    kind = cell.get("t", "n")
    if kind == "n":
        if int(cell.get("s", "0")) not in date_styles:
            return None
    elif kind != "d":
        return None
    value = cell.findtext(f"{SPREADSHEET_NS}v")
    return value.strip() if value and value.strip() else None


def _column_index(letters: str) -> int:
    """1-based number of a column given by its letters: A → 1, Z → 26, AA → 27."""
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - ord("A") + 1
    return number
