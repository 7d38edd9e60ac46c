"""What every reader shares: decoding files, finding archive members, clear errors."""

from __future__ import annotations

import gzip
import io
import json
import re
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
    except KeyError:
        raise ParseError(f"{where}: a zip archive but not an Excel workbook (no xl/workbook.xml)") from None
    try:
        root = ElementTree.fromstring(workbook)
    except ElementTree.ParseError as exc:
        raise ParseError(f"{where}: the workbook's sheet list (xl/workbook.xml) is damaged ({exc})") from None
    return [node.get("name", "") for node in root.iter(f"{SPREADSHEET_NS}sheet")]
