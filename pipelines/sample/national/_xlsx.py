"""Large .xlsx workbooks and text files written by DuckDB, for the national writers.

:func:`write_workbook` lays a workbook out as the sample's openpyxl ones are (inline
strings, numbers typed ``n``, one default style): the few fixed parts are built here, and
each sheet's XML is written by DuckDB straight to disk (:func:`copy_lines`), its first rows
(titles, header) from Python and its body from a query, one ``<row>`` per result row. The
parts are then zipped with fixed dates, so the same query gives the same bytes.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import duckdb

from pipelines.sample.national.common import copy_lines, sql_text, zip_members

Cell = str | int | float | None

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELATIONSHIPS = "http://schemas.openxmlformats.org/package/2006/relationships"
_OFFICE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_STYLES = (
    f'<styleSheet xmlns="{_MAIN}"><fonts count="1"><font><sz val="11"/><name val="Calibri"/><family val="2"/>'
    '</font></fonts><fills count="2"><fill><patternFill/></fill><fill><patternFill patternType="gray125"/></fill>'
    '</fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
)
_APP_PROPERTIES = (
    _XML + '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
    "<Application>Microsoft Excel</Application></Properties>"
).encode()
_NUMERIC_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE", "DECIMAL")


@dataclass(frozen=True)
class Sheet:
    """One sheet: `head` rows (titles, header) from row 1, then one row per row of `body`.

    `body` is a query whose columns are the cells from column A on (text columns as
    strings, numeric ones as numbers, NULL as an empty cell), its rows written in the
    order of `order_by` (an ORDER BY list over its columns).
    """

    name: str
    head: Sequence[Sequence[Cell]] = ()
    body: str | None = None
    order_by: str = ""


def write_workbook(
    con: duckdb.DuckDBPyConnection, path: Path, sheets: Sequence[Sheet], *, creator: str, modified: str,
    description: str = "",
) -> Path:
    """Write an .xlsx holding the sheets in that order; `modified` (e.g. 2025-05-15T08:00:00Z)
    is the document date written in its properties."""
    with tempfile.TemporaryDirectory(dir=path.parent) as work:
        parts: dict[str, Path | bytes] = {
            "[Content_Types].xml": _content_types(len(sheets)),
            "_rels/.rels": _package_relationships(),
            "docProps/core.xml": _core_properties(creator, modified, description),
            "docProps/app.xml": _APP_PROPERTIES,
            "xl/workbook.xml": _workbook(sheets),
            "xl/_rels/workbook.xml.rels": _workbook_relationships(len(sheets)),
            "xl/styles.xml": (_XML + _STYLES).encode(),
        }  # fmt: skip
        for number, sheet in enumerate(sheets, start=1):
            parts[f"xl/worksheets/sheet{number}.xml"] = _write_sheet(con, sheet, Path(work) / f"sheet{number}.xml")
        return zip_members(path, parts)


def _text_cell(column: str, expression: str) -> str:
    """SQL for an inline-string cell of `column` (its letters) in the row `_row`, empty when NULL."""
    text = f"replace(replace(replace({expression}, '&', '&amp;'), '<', '&lt;'), '>', '&gt;')"
    return f"""coalesce('<c r="{column}' || _row || '" t="inlineStr"><is><t>' || {text} || '</t></is></c>', '')"""


def _number_cell(column: str, expression: str) -> str:
    """SQL for a number cell (the shortest text of the double, without a trailing .0), empty when NULL."""
    value = f"regexp_replace(cast(cast({expression} as double) as varchar), '\\.0$', '')"
    return f"""coalesce('<c r="{column}' || _row || '" t="n"><v>' || {value} || '</v></c>', '')"""


def _column_letters(index: int) -> str:
    """A, B, …, Z, AA, … for the 0-based column index."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _write_sheet(con: duckdb.DuckDBPyConnection, sheet: Sheet, path: Path) -> Path:
    """The sheet's XML: opening, head rows, body rows, closing, one line each."""
    opening = sql_text(f'{_XML}<worksheet xmlns="{_MAIN}"><sheetData>')
    parts = [f"select 0 as _part, 0 as _row, {opening} as line"]
    parts += [f"select 1, {n}, {sql_text(_fixed_row(n, row))}" for n, row in enumerate(sheet.head, 1) if row]
    if sheet.body:
        parts.append(f"select 2, _row, {_body_row(con, sheet)}")
    parts.append(f"select 3, 0, {sql_text('</sheetData></worksheet>')}")
    return copy_lines(con, f"select line from ({' union all '.join(parts)}) order by _part, _row", path)


def _body_row(con: duckdb.DuckDBPyConnection, sheet: Sheet) -> str:
    """SQL for the `<row>` of each body row, with `_row` its Excel row number (the from clause included)."""
    relation = con.sql(sheet.body)
    cells = []
    for index, (name, kind) in enumerate(zip(relation.columns, relation.types)):
        quoted = '"' + name.replace('"', '""') + '"'
        cell = _number_cell if str(kind).split("(")[0] in _NUMERIC_TYPES else _text_cell
        cells.append(cell(_column_letters(index), quoted))
    row_number = f"row_number() over (order by {sheet.order_by}) + {len(sheet.head)}"
    numbered = f"select {row_number} as _row, * from ({sheet.body})"
    return f"""'<row r="' || _row || '">' || {' || '.join(cells)} || '</row>' from ({numbered})"""


def _fixed_row(number: int, row: Sequence[Cell]) -> str:
    cells = []
    for index, value in enumerate(row):
        reference = f"{_column_letters(index)}{number}"
        if value is None or value == "":
            continue
        if isinstance(value, str):
            space = ' xml:space="preserve"' if value != value.strip() else ""
            text = escape(value).replace("\n", "&#10;")
            cells.append(f'<c r="{reference}" t="inlineStr"><is><t{space}>{text}</t></is></c>')
        else:
            cells.append(f'<c r="{reference}" t="n"><v>{value}</v></c>')
    return f'<row r="{number}">{"".join(cells)}</row>'


def _content_types(sheets: int) -> bytes:
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{n}.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for n in range(1, sheets + 1)
    )
    return (
        _XML + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        '<Override PartName="/docProps/core.xml" '
        'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
        '<Override PartName="/docProps/app.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>'
        f"{overrides}</Types>"
    ).encode()  # fmt: skip


def _package_relationships() -> bytes:
    return (
        _XML + f'<Relationships xmlns="{_RELATIONSHIPS}">'
        f'<Relationship Id="rId1" Type="{_OFFICE}/officeDocument" Target="xl/workbook.xml"/>'
        f'<Relationship Id="rId2" Type="{_RELATIONSHIPS}/metadata/core-properties" Target="docProps/core.xml"/>'
        f'<Relationship Id="rId3" Type="{_OFFICE}/extended-properties" Target="docProps/app.xml"/></Relationships>'
    ).encode()  # fmt: skip


def _core_properties(creator: str, modified: str, description: str) -> bytes:
    dated = "".join(f'<dcterms:{k} xsi:type="dcterms:W3CDTF">{modified}</dcterms:{k}>' for k in ("created", "modified"))
    return (
        _XML + '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<dc:creator>{escape(creator)}</dc:creator>"
        + (f"<dc:description>{escape(description)}</dc:description>" if description else "")
        + f"{dated}</cp:coreProperties>"
    ).encode()  # fmt: skip


def _workbook(sheets: Sequence[Sheet]) -> bytes:
    listed = "".join(
        f'<sheet name="{escape(sheet.name, {chr(34): "&quot;"})}" sheetId="{n}" r:id="rId{n}"/>'
        for n, sheet in enumerate(sheets, start=1)
    )
    return (
        _XML + f'<workbook xmlns="{_MAIN}" xmlns:r="{_OFFICE}"><bookViews><workbookView activeTab="0"/></bookViews>'
        f"<sheets>{listed}</sheets></workbook>"
    ).encode()


def _workbook_relationships(sheets: int) -> bytes:
    links = "".join(
        f'<Relationship Id="rId{n}" Type="{_OFFICE}/worksheet" Target="worksheets/sheet{n}.xml"/>'
        for n in range(1, sheets + 1)
    )
    styles = f'<Relationship Id="rId{sheets + 1}" Type="{_OFFICE}/styles" Target="styles.xml"/>'
    return (_XML + f'<Relationships xmlns="{_RELATIONSHIPS}">{links}{styles}</Relationships>').encode()
