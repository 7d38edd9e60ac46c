"""Property-based tests (hypothesis) of every reader of pipelines/sources/readers, and of the
commune-code normalisation.

Each of the 17 readers has a case in CASES (a new reader without one fails
test_every_reader_has_a_case) that generates small files in the layout the reader
documents: CSV with either separator, a BOM, quoted fields and title lines; zip, tgz, gz
and lzma containers; .xlsx and .xls workbooks; GeoJSON, JSON, Parquet; GTFS zips.

* Well-formed files read back to exactly the values written: codes keep their leading
  zeros (01001, 2A004, 97411), numbers their digits, names their accents, and computed
  columns (CODGEO, lon_wgs84, departures per stop, the FRR list date…) are right.
* Malformed files — empty, random bytes, truncated, bytes overwritten, re-encoded in
  latin-1 or UTF-16, JSON values of the wrong type or keys deleted, a column dropped or
  renamed, a cell of garbage, a code that lost its leading zero — are either read (values
  as in the file, never U+FFFD, never made-up values for a missing column) or refused with
  ParseError / SourceError naming the file, and naming the column when a column the reader
  needs is missing. Any other exception (KeyError, IndexError, polars or DuckDB errors)
  fails the test.

Also: insee_population.commune_code (5-character codes rebuilt from département and
commune part, Corsica 2A/2B, overseas 97x; a département without its leading zero never
gives a valid-looking code), COMMUNE_CODE_REGEX, common.read_csv_text / sniff_separator /
load_json_records, get_reader and readers given no file. Files are written in temporary
folders only; nothing is read from the network.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import lzma
import re
import struct
import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from byte_draws import BYTE_FAULTS, byte_fault
from openpyxl import Workbook

from pipelines.quality import COMMUNE_CODE_REGEX
from pipelines.sample._xls import workbook_bytes as xls_bytes
from pipelines.sources.catalogue import get_source
from pipelines.sources.errors import SourceError
from pipelines.sources.readers import IncompleteVintage, ParseError, get_reader, readers
from pipelines.sources.readers.anct_frr import MONTHS
from pipelines.sources.readers.common import load_json_records, read_csv_text, sniff_separator
from pipelines.sources.readers.insee_population import commune_code
from pipelines.sources.readers.insee_sirene import (
    KEPT_COLUMNS, STOCK_COLUMNS, closed_within_years_for, naf25_codes_for, naf25_prefixes_for, naf_codes_for, naf_prefixes_for,
)  # fmt: skip
from pipelines.sources.readers.insee_sirene import required_columns as sirene_required

# ----------------------------------------------------------------------------- strategies

METRO = [f"{n:02d}" for n in range(1, 96) if n != 20] + ["2A", "2B"]
OVERSEAS = ["971", "972", "973", "974", "976"]
WELL_KNOWN = ["01001", "2A004", "2B033", "97411", "97611", "75056", "75101", "13055", "69123", "05061"]
COMMUNE_CODES = st.one_of(
    st.sampled_from(WELL_KNOWN),
    st.builds("{}{:03d}".format, st.sampled_from(METRO[:9] + ["2A", "2B"]), st.integers(1, 999)),
    st.builds("{}{:03d}".format, st.sampled_from(METRO), st.integers(1, 999)),
    st.builds("{}{:02d}".format, st.sampled_from(OVERSEAS), st.integers(1, 99)),
)
NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789éèêëàâçôûüœÉÈÎ' -;,\"|/"
NAMES = st.text(NAME_CHARS, min_size=1, max_size=14).map(str.strip).filter(bool)
# Any printable text, newlines and tabs included (spreadsheets refuse other control characters).
GARBAGE = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), whitelist_characters="\n\t"), max_size=12
).filter(lambda s: not s.startswith("="))
INTEGERS = st.integers(0, 10**6).map(str)
DECIMALS = st.builds("{}.{}".format, st.integers(0, 99_999), st.integers(0, 9_999))
LONGITUDES = st.integers(-180_000_000, 180_000_000).map(lambda n: n / 1_000_000)
LATITUDES = st.integers(-90_000_000, 90_000_000).map(lambda n: n / 1_000_000)


def code_lists(max_size: int = 6) -> st.SearchStrategy[list[str]]:
    return st.lists(COMMUNE_CODES, min_size=1, max_size=max_size, unique=True)


def departement_of(code: str) -> str:
    return code[:3] if code.startswith("97") else code[:2]


# ----------------------------------------------------------------------------- tables and cases


@dataclass(frozen=True)
class Table:
    """What a case writes: a header and rows (text, or JSON values for JSON layouts), and what
    the reader must say about it."""

    header: tuple[str, ...]
    rows: tuple[tuple, ...]
    required: dict = field(default_factory=dict)  # column → words the refusal says when it is absent
    zero_checked: dict = field(default_factory=dict)  # code column → words the refusal says when a zero is lost
    codes: tuple[str, ...] = ()  # columns of codes, whose leading zeros matter
    layout: str = ""
    extra: dict = field(default_factory=dict)

    def get(self, row: tuple, name: str, default=None):
        return row[self.header.index(name)] if name in self.header else default

    def records(self) -> list[dict]:
        return [dict(zip(self.header, row)) for row in self.rows]

    def without(self, name: str) -> Table:
        i = self.header.index(name)
        return replace(self, header=self.header[:i] + self.header[i + 1 :], rows=tuple(r[:i] + r[i + 1 :] for r in self.rows))

    def renamed(self, name: str, new: str) -> Table:
        return replace(self, header=tuple(new if c == name else c for c in self.header))

    def with_cell(self, index: int, name: str, value) -> Table:
        i = self.header.index(name)
        rows = list(self.rows)
        rows[index] = rows[index][:i] + (value,) + rows[index][i + 1 :]
        return replace(self, rows=tuple(rows))


@dataclass
class Built:
    files: list[Path]  # newest first, as the reader gets them
    vintage: str
    targets: dict[Path, str]  # file → "text", "json" or "binary": what the byte breakages may do to it
    members: tuple[str, ...] = ()  # archive members a refusal may name instead of the file


@dataclass(frozen=True)
class Case:
    tables: st.SearchStrategy[Table]
    write: Callable[[Table, Path], Built]
    check: Callable[[Table, Built, dict], None]
    entity: str  # the entity the table's rows end up in
    examples: int = 20
    refuses_garbage: bool = True  # random bytes must be refused (the reader needs some column)
    nested: bool = False  # JSON layouts may hand over list / struct columns
    latin1_reads: bool = False  # documented: a latin-1 file reads the same (the columns read are ASCII)


def cell(value) -> str | None:
    """A value as a reader hands it over: text, an empty field as null."""
    if value is None:
        return None
    text = str(value)
    return text if text else None


def frame_rows(frame: pl.DataFrame, columns) -> list[tuple]:
    return [tuple(cell(v) for v in row) for row in frame.select(list(columns)).iter_rows()]


def table_rows(table: Table, columns, rows=None) -> list[tuple]:
    return [tuple(cell(table.get(row, c)) for c in columns) for row in (table.rows if rows is None else rows)]


def csv_bytes(header, rows, sep=",", *, bom=False, quote_all=False, trailing=False, before=(), encoding="utf-8") -> bytes:
    buffer = io.StringIO()
    quoting = csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL
    writer = csv.writer(buffer, delimiter=sep, lineterminator="\n", quoting=quoting)
    for line in [*before, header, *rows]:
        writer.writerow([*("" if v is None else v for v in line), *([""] if trailing else [])])
    return (("\ufeff" if bom else "") + buffer.getvalue()).encode(encoding, errors="replace")


# Every writer gives the same bytes for the same table (no dates): hypothesis replays a failure
# by drawing the same byte positions, which must point at the same bytes.
ZIP_DATE = (2026, 1, 1, 0, 0, 0)


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=ZIP_DATE), data, compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def tgz_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return gzip.compress(buffer.getvalue(), mtime=0)


def xlsx_bytes(sheets: list[tuple[str, list]]) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets:
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append([None if v == "" else v for v in row])
    buffer = io.BytesIO()
    book.save(buffer)
    with zipfile.ZipFile(buffer) as saved:
        members = {info.filename: saved.read(info) for info in saved.infolist()}
    core = members["docProps/core.xml"].decode()
    members["docProps/core.xml"] = re.sub(r"(<dcterms:(created|modified)[^>]*>)[^<]*", r"\g<1>2026-01-01T00:00:00Z", core).encode()
    return zip_bytes(members)


def put(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# ----------------------------------------------------------------------------- insee_cog

COG_HEADER = ("TYPECOM", "COM", "REG", "DEP", "TNCC", "NCC", "LIBELLE")
MOVEMENTS_HEADER = ("MOD", "DATE_EFF", "TYPECOM_AV", "COM_AV", "TYPECOM_AP", "COM_AP")


@st.composite
def cog_tables(draw):
    codes = draw(code_lists())
    rows = []
    for code in codes:
        name = draw(NAMES)
        rows.append((draw(st.sampled_from(["COM", "ARM", "COMD"])), code, draw(st.sampled_from(["84", "94", "01"])),
                     departement_of(code), draw(st.sampled_from("01234567")), name.upper(), name))  # fmt: skip
    moves = tuple(
        (draw(st.sampled_from(["31", "32", "21"])), "2024-01-01", "COM", draw(st.sampled_from(codes)), "COM", draw(COMMUNE_CODES))
        for _ in range(draw(st.integers(0, 3)))
    )
    movements_file = draw(st.sampled_from(["v_mvt_commune_2024.csv", "v_mvtcommune_2024.csv"]))
    return Table(COG_HEADER, tuple(rows), codes=("COM", "DEP"), extra={"movements": moves, "file": movements_file})


def write_cog(table: Table, folder: Path) -> Built:
    communes = put(folder / "v_commune_2024.csv", csv_bytes(table.header, table.rows))
    movements = put(folder / table.extra["file"], csv_bytes(MOVEMENTS_HEADER, table.extra["movements"]))
    return Built([communes, movements], "2024", {communes: "text", movements: "text"})


def check_cog(table: Table, built: Built, result: dict) -> None:
    assert set(result) == {"communes", "movements"}
    frame, path = result["communes"]
    assert path == built.files[0]
    assert frame.columns == list(table.header)
    assert frame_rows(frame, table.header) == table_rows(table, table.header)
    movements, path = result["movements"]
    assert path == built.files[1]
    assert frame_rows(movements, MOVEMENTS_HEADER) == [tuple(cell(v) for v in row) for row in table.extra["movements"]]


# ----------------------------------------------------------------------------- insee_population

POPULATION_CURRENT = ("REG", "Région", "DEP", "CODARR", "CODCAN", "CODCOM", "COM", "Commune", "PMUN", "PCAP", "PTOT")
POPULATION_OLDER = ("CODREG", "REG", "CODDEP", "CODARR", "CODCAN", "CODCOM", "COM", "PMUN", "PCAP", "PTOT")


@st.composite
def population_tables(draw):
    current = draw(st.booleans())
    lost = draw(st.booleans())  # CODCOM written without its leading zeros, as a spreadsheet would
    rows = []
    for code in draw(code_lists()):
        dep = departement_of(code)
        part = str(int(code[len(dep) :])) if lost else code[len(dep) :]
        municipal, counted_apart = draw(st.integers(0, 10**6)), draw(st.integers(0, 5_000))
        numbers = (str(municipal), str(counted_apart), str(municipal + counted_apart))
        name = draw(NAMES)
        if current:
            rows.append(("84", "Auvergne-Rhône-Alpes", dep, "1", "01", part, code, name, *numbers))
        else:
            rows.append(("84", "Auvergne-Rhône-Alpes", dep, "1", "01", part, name, *numbers))
    return Table(
        POPULATION_CURRENT if current else POPULATION_OLDER,
        tuple(rows),
        required={} if current else {"CODDEP": "commune code", "CODCOM": "commune code"},
        codes=("DEP", "CODCOM", "COM") if current else ("CODDEP", "CODCOM"),
        layout=draw(st.sampled_from(["zip", "csv"])),
    )


def write_population(table: Table, folder: Path) -> Built:
    data = csv_bytes(table.header, table.rows, ";")
    if table.layout == "zip":
        members = {"donnees_departements.csv": b"DEP;PMUN\n01;1\n", "donnees_communes.csv": data}
        path = put(folder / "ensemble.zip", zip_bytes(members))
        return Built([path], "2023", {path: "binary"}, members=("donnees_communes.csv",))
    path = put(folder / "donnees_communes.csv", data)
    return Built([path], "2023", {path: "text"})


def expected_population_code(table: Table, row: tuple) -> str:
    """The documented rule: COM in the current layout; else the département code, then the
    commune part padded to fill 5 characters (01 + 001, 974 + 11), the département as written."""
    if "COM" in table.header and "Commune" in table.header:
        return table.get(row, "COM")
    dep, part = table.get(row, "CODDEP") or table.get(row, "DEP"), table.get(row, "CODCOM")
    return dep + part.zfill(2 if len(dep) == 3 else 3)


def check_population(table: Table, built: Built, result: dict) -> None:
    frame, path = result["communes"]
    assert path == built.files[0]
    kept = [c for c in ("DEP", "CODDEP", "CODCOM", "PMUN", "PCAP", "PTOT") if c in table.header]
    assert frame.columns == ["CODGEO", *kept]
    assert frame["CODGEO"].to_list() == [expected_population_code(table, row) for row in table.rows]
    assert frame_rows(frame, kept) == table_rows(table, kept)


# ----------------------------------------------------------------------------- commune_locations

LOCATIONS_CSV = ("", "code_insee", "nom_standard", "typecom", "dep_code", "latitude_mairie", "longitude_mairie",
                 "latitude_centre", "longitude_centre")  # fmt: skip
LOCATIONS_LZMA = ("code", "type", "nom", "mairie_localisation", "geometry")
LOCATION_COLUMNS = ("code", "type", "longitude_mairie", "latitude_mairie", "longitude_centre", "latitude_centre",
                    "contour_wkb_hex")  # fmt: skip


def point_hex(x: float, y: float) -> str:
    return struct.pack("<BIdd", 1, 1, x, y).hex().upper()


def square_hex(x: float, y: float, half: float = 0.01) -> str:
    ring = [(x - half, y - half), (x + half, y - half), (x + half, y + half), (x - half, y + half), (x - half, y - half)]
    return (struct.pack("<BIII", 1, 3, 1, len(ring)) + b"".join(struct.pack("<dd", *p) for p in ring)).hex().upper()


@st.composite
def location_tables(draw):
    layout = draw(st.sampled_from(["csv", "lzma"]))
    rows, centres = [], {}
    for index, code in enumerate(draw(code_lists())):
        lon, lat, clon, clat = draw(LONGITUDES), draw(LATITUDES), draw(LONGITUDES), draw(LATITUDES)
        name = draw(NAMES)
        if layout == "csv":
            centre = draw(st.booleans())
            rows.append((str(index), code, name, draw(st.sampled_from(["COM", "ARM"])), departement_of(code),
                         f"{lat:.5f}", f"{lon:.5f}", f"{clat:.5f}" if centre else "", f"{clon:.5f}" if centre else ""))  # fmt: skip
        else:
            kind = draw(st.sampled_from(["COM", "COMD", "COMA", "ARM", "SRM"]))
            contour = square_hex(clon, clat) if draw(st.booleans()) else "\\N"
            centres[contour] = (clon, clat)
            rows.append((code + ("SR01" if kind == "SRM" else ""), kind, name, point_hex(lon, lat), contour))
    if layout == "csv":
        return Table(LOCATIONS_CSV, tuple(rows), required={"code_insee": "code_insee"}, codes=("code_insee",), layout="csv")
    required = {c: c for c in ("code", "type", "mairie_localisation", "geometry")}
    return Table(LOCATIONS_LZMA, tuple(rows), required=required, codes=("code",), layout="lzma", extra={"centres": centres})


def write_locations(table: Table, folder: Path) -> Built:
    data = csv_bytes(table.header, table.rows)
    if table.layout == "csv":
        path = put(folder / "communes-france-2025.csv", data)
        return Built([path], "2026", {path: "text"})
    path = put(folder / "communes.csv.lzma", lzma.compress(data))
    return Built([path], "2026", {path: "binary"})


def check_locations(table: Table, built: Built, result: dict) -> None:
    frame, path = result["communes"]
    assert path == built.files[0]
    assert frame.columns == list(LOCATION_COLUMNS)
    if table.layout == "csv":
        sources = ("code_insee", "typecom", "longitude_mairie", "latitude_mairie", "longitude_centre", "latitude_centre")
        expected = [(*values, None) for values in table_rows(table, sources)]
        assert frame_rows(frame, LOCATION_COLUMNS) == expected
        return
    expected = []
    for row in table.rows:
        if table.get(row, "type") == "SRM":  # Marseille's secteurs are not communes
            continue
        _, _, x, y = struct.unpack("<BIdd", bytes.fromhex(table.get(row, "mairie_localisation")))
        contour = table.get(row, "geometry")
        centre = table.extra["centres"][contour] if contour != "\\N" else None
        expected.append((table.get(row, "code"), table.get(row, "type"), f"{x:.7f}", f"{y:.7f}",
                         f"{centre[0]:.7f}" if centre else None, f"{centre[1]:.7f}" if centre else None,
                         contour if centre else None))  # fmt: skip
    assert sorted(frame_rows(frame, LOCATION_COLUMNS)) == sorted(expected)


# ----------------------------------------------------------------------------- anct_observatoire

OBSERVATOIRE_COLUMNS = ("DATASET", "INDIC", "NIVGEO", "codgeo", "libgeo", "an", "DIMENSIONS", "VALEUR", "FILE_NAME",
                        "FILE_SHA256")  # fmt: skip
OBSERVATOIRE_TITLES = ["Export Geoclip", "Indicateur : part des 75 ans et plus", "Source : Insee, RP"]
INDICATORS = st.from_regex(r"[a-z][a-z0-9_]{0,9}[a-z0-9]", fullmatch=True).filter(
    lambda s: "__" not in s and s not in ("codgeo", "code", "libgeo", "libelle", "an", "sexe")
)


@st.composite
def observatoire_tables(draw):
    dataset, indicator = draw(st.from_regex(r"[a-z][a-z0-9]{0,7}", fullmatch=True)), draw(INDICATORS)
    column = indicator.upper() if draw(st.booleans()) else indicator
    year, dimension = draw(st.booleans()), draw(st.booleans())
    header = ("codgeo", "libgeo", *(["an"] if year else []), *(["sexe"] if dimension else []), column)
    values = st.one_of(DECIMALS, INTEGERS, st.just("-9999"), st.just("N/A - résultat non disponible"))
    rows = tuple(
        (code, draw(NAMES), *([draw(st.sampled_from(["2020", "2021"]))] if year else []),
         *([draw(st.sampled_from(["H", "F"]))] if dimension else []), draw(values))
        for code in draw(code_lists())
    )  # fmt: skip
    return Table(
        header, rows,
        required={"codgeo": "codgeo", "libgeo": "libgeo", column: indicator},
        zero_checked={"codgeo": "codgeo"}, codes=("codgeo",),
        extra={"dataset": dataset, "indicator": indicator, "column": column, "bom": draw(st.booleans()),
               "titles": draw(st.lists(st.sampled_from(OBSERVATOIRE_TITLES), max_size=3))},
    )  # fmt: skip


def write_observatoire(table: Table, folder: Path) -> Built:
    titles = "".join(line + "\n" for line in table.extra["titles"])
    data = ("\ufeff" if table.extra["bom"] else "").encode() + titles.encode() + csv_bytes(table.header, table.rows, ";")
    path = put(folder / f"{table.extra['dataset']}__{table.extra['indicator']}.csv", data)
    return Built([path], "2024", {path: "text"})


def check_observatoire(table: Table, built: Built, result: dict) -> None:
    frame, path = result["values"]
    assert path == built.files[0]
    assert frame.columns == list(OBSERVATOIRE_COLUMNS)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    column = table.extra["column"]
    expected = [
        (table.extra["dataset"], column, "com2024", table.get(row, "codgeo"), table.get(row, "libgeo"),
         table.get(row, "an"), f"sexe={table.get(row, 'sexe')}" if "sexe" in table.header else None,
         table.get(row, column), path.name, digest)
        for row in table.rows
    ]  # fmt: skip
    assert frame_rows(frame, OBSERVATOIRE_COLUMNS) == [tuple(cell(v) for v in row) for row in expected]


# ----------------------------------------------------------------------------- anct_zrr

ZRR_HEADER = ("CODGEO", "LIBGEO", "ZRR_SIMP", "ZONAGE_ZRR")
ZRR_TITLES = [["Zonage de revitalisation rurale (ZRR)"], ["Classement au 1er juillet 2021, COG 2021"],
              ["Code géographique", "Libellé géographique", "Classement simplifié", "Détail du classement"]]  # fmt: skip


@st.composite
def zrr_tables(draw):
    simple = st.sampled_from(["C - Classée en ZRR", "NC - Non classée", "P - Commune partiellement classée en ZRR"])
    detail = st.sampled_from(["01 - Commune classée", "00 - Non classée", "03 - Commune classée au titre de 2017"])
    rows = tuple((code, draw(NAMES), draw(simple), draw(detail)) for code in draw(code_lists()))
    layout = draw(st.sampled_from(["xls", "csv,", "csv;", "quoted,", "quoted;"]))
    return Table(ZRR_HEADER, rows, required={"CODGEO": "CODGEO"}, codes=("CODGEO", "ZONAGE_ZRR"), layout=layout)


def write_zrr(table: Table, folder: Path) -> Built:
    if table.layout == "xls":
        rows = [*ZRR_TITLES, list(table.header), *[list(r) for r in table.rows], [""] * 4]
        sheets = [("Documentation", [["Notes"]]), ("Classement ZRR (COG 2021)", rows), ("Classement ZRR (COG 2017)", [["x"]])]
        path = put(folder / "diffusion-zonages-zrr-cog2021.xls", xls_bytes(sheets))
        return Built([path], "2021", {path: "binary"})
    sep = table.layout[-1]
    data = csv_bytes(table.header, [*table.rows, [""] * len(table.header)], sep, quote_all=table.layout.startswith("quoted"),
                     before=ZRR_TITLES)  # fmt: skip
    path = put(folder / "zrr-cog2021.csv", data)
    return Built([path], "2021", {path: "text"})


def check_zrr(table: Table, built: Built, result: dict) -> None:
    frame, path = result["communes"]
    assert path == built.files[0]
    assert frame.columns == list(table.header)
    assert frame_rows(frame, table.header) == table_rows(table, table.header)


# ----------------------------------------------------------------------------- anct_frr


@st.composite
def frr_tables(draw):
    day, month, year = draw(st.integers(1, 28)), draw(st.integers(1, 12)), draw(st.integers(2024, 2030))
    spelled = "1er" if day == 1 and draw(st.booleans()) else str(day)
    column = f"Classement FRR et FRR+ au {spelled} {MONTHS[month - 1]} {year}"
    classes = st.sampled_from(["FRR", "FRR+", "FRR (commune classée pour partie)", "Non classée"])
    rows = tuple((code, departement_of(code), draw(NAMES), draw(classes)) for code in draw(code_lists()))
    layout = draw(st.sampled_from(["csv", "xlsx"]))
    required = {column: "Classement FRR"} | ({"Code_insee": "Code_insee"} if layout == "xlsx" else {})
    return Table(
        ("Code_insee", "Departement", "Commune", column), rows, required=required, codes=("Code_insee", "Departement"),
        layout=layout,
        extra={"column": column, "date": f"{year}-{month:02d}-{day:02d}", "titles": draw(st.integers(0, 3)),
               "sheet": draw(st.sampled_from(["Liste FRR", "Feuil1"]))},
    )  # fmt: skip


def write_frr(table: Table, folder: Path) -> Built:
    if table.layout == "csv":
        path = put(folder / "liste-frr.csv", csv_bytes(table.header, table.rows, ";", trailing=True))
        return Built([path], "2025", {path: "text"})
    titles = [["France Ruralités Revitalisation"], [""], ["Liste des communes classées"]][: table.extra["titles"]]
    sheet = (table.extra["sheet"], [*titles, list(table.header), *[list(r) for r in table.rows]])
    notes = ("Notes", [["Code_insee"], ["source : ANCT"]])
    sheets = [sheet, notes] if table.extra["sheet"] == "Feuil1" else [notes, sheet]
    path = put(folder / "liste-frr.xlsx", xlsx_bytes(sheets))
    return Built([path], "2025", {path: "binary"})


def check_frr(table: Table, built: Built, result: dict) -> None:
    frame, path = result["communes"]
    assert path == built.files[0]
    assert frame.columns == ["Code_insee", "Departement", "Commune", "Classement FRR et FRR+", "Date du classement"]
    expected = [(*values, table.extra["date"]) for values in table_rows(table, table.header)]
    assert frame_rows(frame, frame.columns) == expected


# ----------------------------------------------------------------------------- anct_france_services

SERVICES_LIST = ("id_fs", "lib_fs", "insee_com", "lib_com", "code_postal", "format_fs", "longitude", "latitude")
SERVICES_RENAMED = {"id_fs": "MATRICULE", "lib_fs": "lib_france_services", "insee_com": "insee_com", "lib_com": "lib_com",
                    "code_postal": "code_postal", "format_fs": "FORMAT_FS", "longitude": "LONGITUDE", "latitude": "LATITUDE"}  # fmt: skip
SERVICES_GEOJSON = ("MATRICULE", "lib_france_services", "insee_com", "lib_com", "FORMAT_FS", "LONGITUDE", "LATITUDE")


def plain_decimal(number: float) -> str:
    """A coordinate as the reader writes it: 8 decimals at most, no exponent, no trailing zeros."""
    return format(Decimal(repr(number)).quantize(Decimal("1e-8")), "f").rstrip("0").rstrip(".")


@st.composite
def services_tables(draw):
    layout = draw(st.sampled_from(["csv,", "csv;", "geojson"]))
    formats = st.sampled_from(["Site principal", "Antenne", "Bus itinérant"])
    rows, points = [], []
    for code in draw(code_lists()):
        lon, lat = draw(LONGITUDES), draw(LATITUDES)
        identifier = draw(st.from_regex(r"[0-9]{1,5}", fullmatch=True))
        rows.append((identifier, "France services " + draw(NAMES), code, draw(NAMES), draw(st.from_regex(r"[0-9]{5}", fullmatch=True)),
                     draw(formats), repr(lon), repr(lat)))  # fmt: skip
        points.append((draw(LONGITUDES), draw(LATITUDES)) if draw(st.booleans()) else None)
    if layout == "geojson":
        rows = [(r[0], r[1], r[2], r[3], r[5], r[6], r[7]) for r in rows]
        return Table(SERVICES_GEOJSON, tuple(rows), codes=("insee_com",), layout=layout, extra={"points": points})
    required = {c: c for c in ("id_fs", "lib_fs", "longitude", "latitude")}
    return Table(SERVICES_LIST, tuple(rows), required=required, codes=("insee_com", "code_postal", "id_fs"), layout=layout,
                 extra={"bom": draw(st.booleans())})  # fmt: skip


def write_services(table: Table, folder: Path) -> Built:
    if table.layout == "geojson":
        features = [
            {"type": "Feature", "properties": record,
             "geometry": {"type": "Point", "coordinates": list(point)} if point else None}
            for record, point in zip(table.records(), table.extra["points"])
        ]  # fmt: skip
        document = {"type": "FeatureCollection", "features": features}
        path = put(folder / "france-services.geojson", json.dumps(document, ensure_ascii=False).encode())
        return Built([path], "2020", {path: "json"})
    data = csv_bytes(table.header, table.rows, table.layout[-1], bom=table.extra["bom"])
    path = put(folder / "liste-fs-20250101.csv", data)
    return Built([path], "2025", {path: "text"})


def check_services(table: Table, built: Built, result: dict) -> None:
    frame, path = result["points"]
    assert path == built.files[0]
    if table.layout == "geojson":
        assert frame.columns == [*table.header, "lon_wgs84", "lat_wgs84"]
        expected = []
        for row, point in zip(table.rows, table.extra["points"]):
            # The point geometry's coordinates, else the LONGITUDE / LATITUDE properties as published.
            where = tuple(plain_decimal(v) for v in point) if point else (table.get(row, "LONGITUDE"), table.get(row, "LATITUDE"))
            expected.append(tuple(cell(v) for v in (*row, *where)))
        assert frame_rows(frame, frame.columns) == expected
        return
    assert frame.columns == [SERVICES_RENAMED[c] for c in table.header] + ["lon_wgs84", "lat_wgs84"]
    expected = [(*row, row[-2], row[-1]) for row in table_rows(table, table.header)]
    assert frame_rows(frame, frame.columns) == expected


# ----------------------------------------------------------------------------- anct_qpv

QPV_HEADER = ("code_qp", "lib_qp", "insee_dep", "lib_com", "insee_com")
QPV_NATIONAL = "GEOJSON/QP2024_France_Hexagonale_Outre_Mer_WGS84.geojson"


@st.composite
def qpv_tables(draw):
    codes = draw(st.lists(st.from_regex(r"QN[0-9]{5}[A-Z]", fullmatch=True), min_size=1, max_size=5, unique=True))
    separator = draw(st.sampled_from([", ", ",", " - ", ";", "/", " / "]))
    rows = []
    for code in codes:
        communes = draw(st.lists(COMMUNE_CODES, min_size=1, max_size=3, unique=True))
        rows.append((code, "Quartier " + draw(NAMES), departement_of(communes[0]), draw(NAMES), separator.join(communes)))
    populations = None
    if draw(st.booleans()):
        listed = draw(st.lists(st.sampled_from(codes), unique=True))
        populations = {code: str(draw(st.integers(1_000, 40_000))) for code in listed}
    return Table(
        QPV_HEADER, tuple(rows), codes=("insee_com", "insee_dep"), layout=draw(st.sampled_from(["geojson", "zip"])),
        extra={"populations": populations, "names": (draw(st.sampled_from(["code_qp", "CODE_QP", "CODGEO"])),
                                                     draw(st.sampled_from(["pop_mun", "POPULATION", "pop"])))},
    )  # fmt: skip


def qpv_geojson(table: Table) -> bytes:
    square = [[[5.37, 43.3], [5.38, 43.3], [5.38, 43.31], [5.37, 43.31], [5.37, 43.3]]]
    features = [{"type": "Feature", "properties": r, "geometry": {"type": "Polygon", "coordinates": square}} for r in table.records()]
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False).encode()


def write_qpv(table: Table, folder: Path) -> Built:
    if table.layout == "zip":
        members = {"GEOJSON/QP2024_Guadeloupe_WGS84.geojson": b"{}", QPV_NATIONAL: qpv_geojson(table)}
        contours = put(folder / "QP2024_WGS84.zip", zip_bytes(members))
        built = Built([contours], "2024", {contours: "binary"}, members=(QPV_NATIONAL,))
    else:
        contours = put(folder / "qp2024.geojson", qpv_geojson(table))
        built = Built([contours], "2024", {contours: "json"})
    if table.extra["populations"] is not None:
        code, population = table.extra["names"]
        rows = list(table.extra["populations"].items())
        statistics = put(folder / "pop_QPV24.csv", csv_bytes((code, population), rows, ";"))
        built.files.insert(0, statistics)
        built.targets[statistics] = "text"
    return built


def check_qpv(table: Table, built: Built, result: dict) -> None:
    assert set(result) == {"quartiers", "communes"}
    quartiers, path = result["quartiers"]
    populations = table.extra["populations"]
    assert path == built.files[0]
    if populations is None:
        assert quartiers.columns == list(QPV_HEADER)
        assert frame_rows(quartiers, QPV_HEADER) == table_rows(table, QPV_HEADER)
    else:
        assert quartiers.columns == [*QPV_HEADER, "pop_mun"]
        expected = [(*row, populations.get(row[0])) for row in table_rows(table, QPV_HEADER)]
        assert frame_rows(quartiers, quartiers.columns) == expected
    communes, path = result["communes"]
    assert path == built.files[-1]
    links = []
    for row in table.rows:
        for code in re.split(r"[,;/]|\s-\s", table.get(row, "insee_com")):
            if code.strip() and (table.get(row, "code_qp"), code.strip()) not in links:
                links.append((table.get(row, "code_qp"), code.strip()))
    assert frame_rows(communes, ["code_qp", "insee_com"]) == links


# ----------------------------------------------------------------------------- drees_apl

APL, APL_65 = "APL aux médecins généralistes", "APL aux médecins généralistes de 65 ans ou moins"
APL_HEADER = ("Code commune INSEE", "Commune", APL, APL_65, "Population standardisée 2021 pour la médecine générale",
              "Population totale 2021")  # fmt: skip
APL_COLUMNS = ("Code commune INSEE", "Commune", APL, APL_65, "POPULATION_STANDARDISEE", "POPULATION_TOTALE", "POPULATION_YEAR")


@st.composite
def apl_tables(draw):
    offer = st.one_of(st.none(), st.integers(1, 9_999).map(lambda n: n / 1000))
    rows = tuple(
        (code, draw(NAMES), draw(offer), draw(offer), draw(st.integers(1, 10**8)) / 1000, draw(st.integers(0, 10**6)))
        for code in draw(code_lists())
    )
    required = {APL_HEADER[4]: "Population standardisée", APL_HEADER[5]: "Population totale"}
    return Table(APL_HEADER, rows, required=required, codes=("Code commune INSEE",), extra={"titles": draw(st.integers(6, 10))})


def write_apl(table: Table, folder: Path) -> Built:
    titles = [["Indicateur d'accessibilité potentielle localisée (APL) 2023"], [""], ["Millésime : 2023"]]
    titles = (titles + [["Note"]] * 10)[: table.extra["titles"]]
    units = ["", "", *["Consultations/an/habitant"] * (len(table.header) - 4), "En nombre d'habitants standardisés", "En nombre d'habitants"]
    sheet = [*titles, list(table.header), units[: len(table.header)], *[list(r) for r in table.rows]]
    decoy = [*titles, list(table.header), ["99999", "Ailleurs", 1.5, 1.5, 10.5, 10]]
    path = put(folder / "apl_generalistes.xlsx", xlsx_bytes([("Paramètres", [["Année", 2023]]), ("APL 2022", decoy), ("APL 2023", sheet)]))
    return Built([path], "2023", {path: "binary"})


def check_apl(table: Table, built: Built, result: dict) -> None:
    frame, path = result["communes"]
    assert path == built.files[0]
    assert frame.columns == list(APL_COLUMNS)
    assert frame.height == len(table.rows)
    for row, got in zip(table.rows, frame.iter_rows()):
        assert got[:2] == row[:2]
        for number, text in zip(row[2:5], got[2:5]):
            # Written as numbers, handed over as their plain decimal text.
            assert (text is None) if number is None else (float(text) == number and "e" not in text.lower()), (number, text)
        assert got[5:] == (str(row[5]), "2021")


# ----------------------------------------------------------------------------- etalab_decoupage

ETALAB_HEADER = ("code", "nom", "departement", "region", "population", "codesPostaux")
ETALAB_VINTAGE = "2025"


@st.composite
def etalab_tables(draw):
    codes = draw(code_lists())
    rows = tuple(
        (code, draw(NAMES), departement_of(code), "84", draw(st.one_of(st.none(), st.integers(0, 10**6))),
         draw(st.lists(st.from_regex(r"[0-9]{5}", fullmatch=True), min_size=1, max_size=2)))
        for code in codes
    )  # fmt: skip
    epcis = [
        {"code": draw(st.from_regex(r"2[0-9]{8}", fullmatch=True)), "nom": "CC " + draw(NAMES),
         "membres": [{"code": c, "siren": "21" + c.replace("A", "0").replace("B", "0") + "00"}
                     for c in draw(st.lists(st.sampled_from(codes), min_size=1, unique=True))]}
        for _ in range(draw(st.integers(1, 3)))
    ]  # fmt: skip
    departements = [{"code": d, "nom": "Département " + d, "region": "84"} for d in sorted({departement_of(c) for c in codes})]
    return Table(
        ETALAB_HEADER, rows, codes=("code", "departement"), layout=draw(st.sampled_from(["json", "gz", "tgz"])),
        extra={"epci": epcis, "departements": departements, "regions": [{"code": "84", "nom": "Auvergne-Rhône-Alpes"}]},
    )


def write_etalab(table: Table, folder: Path) -> Built:
    documents = {"communes": table.records(), **{e: table.extra[e] for e in ("epci", "departements", "regions")}}
    encoded = {entity: json.dumps(value, ensure_ascii=False).encode() for entity, value in documents.items()}
    if table.layout == "tgz":
        members = {f"package/data/{e}.json": data for e, data in encoded.items()} | {"package/package.json": b"{}"}
        path = put(folder / "decoupage-administratif-4.0.0.tgz", tgz_bytes(members))
        return Built([path], ETALAB_VINTAGE, {path: "binary"}, members=tuple(members))
    if table.layout == "gz":
        paths = [put(folder / f"{e}.json.gz", gzip.compress(data, mtime=0)) for e, data in encoded.items()]
        return Built(paths, ETALAB_VINTAGE, {p: "binary" for p in paths})
    paths = [put(folder / f"{e}.json", data) for e, data in encoded.items()]
    return Built(paths, ETALAB_VINTAGE, {p: "json" for p in paths})


def check_etalab(table: Table, built: Built, result: dict) -> None:
    assert set(result) == {"communes", "epci", "epci_members", "departements", "regions"}
    communes, _ = result["communes"]
    scalars = ("code", "nom", "departement", "region", "population")
    assert frame_rows(communes, scalars) == table_rows(table, scalars)
    assert communes["codesPostaux"].to_list() == [table.get(row, "codesPostaux") for row in table.rows]
    year = get_source("etalab_decoupage").vintage(ETALAB_VINTAGE).extra["population_year"]
    assert communes["population_year"].to_list() == [str(year)] * len(table.rows)
    epci, _ = result["epci"]
    assert frame_rows(epci, ["code", "nom"]) == [(e["code"], e["nom"]) for e in table.extra["epci"]]
    members, _ = result["epci_members"]
    expected = [(e["code"], m["code"], m["siren"]) for e in table.extra["epci"] for m in e["membres"]]
    assert frame_rows(members, ["epci_code", "code", "siren"]) == expected
    for entity in ("departements", "regions"):
        frame, _ = result[entity]
        assert frame_rows(frame, ["code", "nom"]) == [(d["code"], d["nom"]) for d in table.extra[entity]]


# ----------------------------------------------------------------------------- insee_bpe

BPE_HEADER = ("AN", "DEPCOM", "DCIRIS", "TYPEQU", "LAMBERT_X", "LAMBERT_Y", "QUALITE_XY", "EPSG", "NOMRS")
BPE_KEPT = ("DEPCOM", "DCIRIS", "AN", "TYPEQU", "LAMBERT_X", "LAMBERT_Y", "QUALITE_XY", "EPSG")
DS_BPE_HEADER = ("GEO", "GEO_OBJECT", "FACILITY_TYPE", "BPE_MEASURE", "TIME_PERIOD", "OBS_VALUE")


@st.composite
def bpe_tables(draw):
    codes = draw(code_lists())
    quality = st.sampled_from(["Bonne", "Acceptable", "Mauvaise", "Non géolocalisé"])
    rows = tuple(
        ("2021", code, code + draw(st.sampled_from(["", "0101", "0000"])), draw(st.from_regex(r"[A-F][0-9]{3}", fullmatch=True)),
         draw(DECIMALS), draw(DECIMALS), draw(quality), draw(st.sampled_from(["2154", "5490", "2975"])), draw(NAMES))
        for code in codes for _ in range(draw(st.integers(1, 2)))
    )  # fmt: skip
    counts = None
    if draw(st.booleans()):
        counts = [
            (draw(st.one_of(st.sampled_from(codes), st.sampled_from(["01", "84", "FRA"]))),
             draw(st.sampled_from(["COM", "ARM", "DEP", "REG", "FRA"])), draw(st.sampled_from(["A101", "D265", "_T", "A"])),
             draw(st.sampled_from(["FACILITIES", "FACILITIES_PER_1000", ""])), "2023", draw(INTEGERS))
            for _ in range(draw(st.integers(1, 6)))
        ]  # fmt: skip
    return Table(BPE_HEADER, rows, codes=("DEPCOM", "DCIRIS"), layout=draw(st.sampled_from(["csv", "zip", "parquet"])),
                 extra={"counts": counts})  # fmt: skip


def write_bpe(table: Table, folder: Path) -> Built:
    data = csv_bytes(table.header, table.rows, ";")
    if table.layout == "csv":
        path = put(folder / "bpe21_ensemble_xy.csv", data)
        built = Built([path], "2021", {path: "text"})
    elif table.layout == "zip":
        path = put(folder / "bpe21_ensemble_xy_csv.zip", zip_bytes({"varmod_ensemble_xy_2021.csv": b"V\n", "bpe21_ensemble_xy.csv": data}))
        built = Built([path], "2021", {path: "binary"}, members=("bpe21_ensemble_xy.csv",))
    else:
        frame = pl.DataFrame([list(r) for r in table.rows], schema={c: pl.Utf8 for c in table.header}, orient="row")
        path = folder / "BPE24.parquet"
        frame.write_parquet(path)
        built = Built([path], "2021", {path: "binary"})
    if table.extra["counts"] is not None:
        counts = put(folder / "DS_BPE_2023_data.csv", csv_bytes(DS_BPE_HEADER, table.extra["counts"], ";"))
        built.files.append(counts)
        built.targets[counts] = "text"
    return built


def check_bpe(table: Table, built: Built, result: dict) -> None:
    frame, path = result["equipments"]
    assert path == built.files[0]
    kept = [c for c in BPE_KEPT if c in table.header]
    assert frame.columns == kept
    assert frame_rows(frame, kept) == table_rows(table, kept)
    if table.extra["counts"] is None:
        assert set(result) == {"equipments"}
        return
    counts, path = result["commune_counts"]
    assert path == built.files[1]
    assert counts.columns == ["DEPCOM", "GEO_OBJECT", "TYPEQU", "AN", "NB_EQUIP"]
    expected = [
        (geo, level, kind, year, value)
        for geo, level, kind, measure, year, value in table.extra["counts"]
        if level in ("COM", "ARM") and re.fullmatch(r"[A-Z][0-9]{3}", kind) and measure in ("", "FACILITIES")
    ]
    assert frame_rows(counts, counts.columns) == expected


# ----------------------------------------------------------------------------- insee_census_age / housing


def census_case(stem: str, required: tuple[str, ...], optional: tuple[str, ...]) -> tuple:
    @st.composite
    def tables(draw):
        names = [*required, *(o for o in optional if draw(st.booleans()))]
        label = draw(st.booleans())
        header = ("CODGEO", *(["LIBGEO"] if label else []), *(f"P21_{n}" for n in names), *(f"P15_{n}" for n in names[:2]))
        rows = tuple(
            (code, *([draw(NAMES)] if label else []), *(draw(st.one_of(INTEGERS, DECIMALS)) for _ in header[1 + label :]))
            for code in draw(code_lists())
        )
        layout = draw(st.sampled_from(["zip", "csv"])) + "-" + draw(st.sampled_from(["latin-1", "utf-8"]))
        return Table(header, rows, codes=("CODGEO",), layout=layout, extra={"names": names, "quoted": draw(st.booleans())})

    def write(table: Table, folder: Path) -> Built:
        container, encoding = table.layout.split("-", 1)
        data = csv_bytes(table.header, table.rows, ";", quote_all=table.extra["quoted"], encoding=encoding)
        member = f"{stem}2021.CSV"
        if container == "zip":
            members = {f"meta_{stem}2021.CSV": b"COD_VAR;LIB_VAR\nCODGEO;Code\n", member: data}
            path = put(folder / f"{stem}2021_csv.zip", zip_bytes(members))
            return Built([path], "2021", {path: "binary"}, members=(member,))
        path = put(folder / member, data)
        return Built([path], "2021", {path: "text"})

    def check(table: Table, built: Built, result: dict) -> None:
        frame, path = result["communes"]
        assert path == built.files[0]
        names = [n for n in (*required, *optional) if n in table.extra["names"]]
        assert frame.columns == ["CODGEO", "CENSUS_YEAR", *names]
        expected = [(code, "2021", *rest) for code, *rest in table_rows(table, ["CODGEO", *(f"P21_{n}" for n in names)])]
        assert frame_rows(frame, frame.columns) == expected

    return tables(), write, check


# ----------------------------------------------------------------------------- insee_density_grid

DENSITY_LABELS = {1: "Grands centres urbains", 2: "Centres urbains intermédiaires", 3: "Petites villes", 4: "Ceintures urbaines",
                  5: "Bourgs ruraux", 6: "Rural à habitat dispersé", 7: "Rural à habitat très dispersé"}  # fmt: skip
DENSITY_KEPT = ("CODGEO", "LIBGEO", "DENS", "LIBDENS", "DENS7", "LIBDENS7")


@st.composite
def density_tables(draw):
    revised = draw(st.booleans())
    rows = []
    for code in draw(code_lists()):
        level, name, population = draw(st.integers(1, 7)), draw(NAMES), draw(st.integers(0, 10**6))
        if revised:
            three = 1 if level <= 2 else 2 if level <= 4 else 3
            rows.append((code, name, three, f"Niveau {three}", population, level, DENSITY_LABELS[level]))
        else:
            rows.append((code, name, level, DENSITY_LABELS[level], population))
    if revised:
        header = ("CODGEO", "LIBGEO", "DENS", "LIBDENS", "PMUN22", "DENS7", "LIBDENS7")
        required = {"CODGEO": "CODGEO", "DENS": "DENS", "DENS7": "DENS7"}
    else:
        header, required = ("CODGEO", "LIBGEO", "DENS", "LIBDENS", "PMUN19"), {"CODGEO": "CODGEO", "DENS": "DENS"}
    return Table(header, tuple(rows), required=required, codes=("CODGEO",), layout="Maille communale" if revised else "Grille_Densite",
                 extra={"documentation_first": draw(st.booleans())})  # fmt: skip


def write_density(table: Table, folder: Path) -> Built:
    titles = [["Grille de densité"], ["France – Niveau de densité des communes"], ["Géographie au 01/01/2025"],
              ["Code commune", "Libellé des communes", "Degré de densité"]]  # fmt: skip
    sheet = (table.layout, [*titles, list(table.header), *[list(r) for r in table.rows]])
    documentation = ("Documentation", [["Grille de densité"], ["Définitions"]])
    sheets = [documentation, sheet] if table.extra["documentation_first"] else [sheet, documentation]
    revised = table.layout == "Maille communale"
    name, vintage = ("fichier_diffusion_2025.xlsx", "2025") if revised else ("grille_densite_7_niveaux_2022.xlsx", "2022")
    path = put(folder / name, xlsx_bytes(sheets))
    return Built([path], vintage, {path: "binary"})


def check_density(table: Table, built: Built, result: dict) -> None:
    frame, path = result["communes"]
    assert path == built.files[0]
    kept = [c for c in DENSITY_KEPT if c in table.header]
    assert frame.columns == kept
    assert frame_rows(frame, kept) == table_rows(table, kept)


# ----------------------------------------------------------------------------- insee_sirene

SIRENE_VINTAGE = "2026-11"
SIRENE_HEADER = tuple(c for c in STOCK_COLUMNS if c in KEPT_COLUMNS or c == "nic")
SIRENE_ACTIVITIES = ["56.30Z", "56.10A", "47.11B", "47.26Z", "62.01Z", "01.11Z"]


@st.composite
def sirene_tables(draw):
    count = draw(st.integers(1, 6))
    sirens = draw(st.lists(st.from_regex(r"[0-9]{9}", fullmatch=True), min_size=count, max_size=count, unique=True))
    maybe = lambda strategy: draw(st.one_of(st.none(), strategy))  # noqa: E731
    rows = []
    for index, siren in enumerate(sirens):
        nic = draw(st.from_regex(r"[0-9]{5}", fullmatch=True))
        values = {
            "siren": siren, "nic": nic, "siret": siren + nic, "statutDiffusionEtablissement": "O",
            "dateCreationEtablissement": "2015-03-01", "trancheEffectifsEtablissement": maybe(st.sampled_from(["NN", "01", "02"])),
            "dateDernierTraitementEtablissement": f"2026-10-{draw(st.integers(1, 31)):02d}T0{draw(st.integers(0, 9))}:00:00",
            "etablissementSiege": draw(st.sampled_from(["true", "false"])),
            "codePostalEtablissement": draw(st.from_regex(r"[0-9]{5}", fullmatch=True)),
            "libelleCommuneEtablissement": draw(NAMES).upper(), "codeCommuneEtablissement": draw(COMMUNE_CODES),
            "codePaysEtrangerEtablissement": None, "coordonneeLambertAbscisseEtablissement": maybe(DECIMALS),
            "coordonneeLambertOrdonneeEtablissement": maybe(DECIMALS),
            "dateDebut": draw(st.sampled_from(["2020-01-01", "2024-06-01"])),  # a closure before or within the kept years
            "etatAdministratifEtablissement": "A" if index == 0 else draw(st.sampled_from("AF")),
            "enseigne1Etablissement": maybe(NAMES), "denominationUsuelleEtablissement": maybe(NAMES),
            "activitePrincipaleEtablissement": "56.30Z" if index == 0 else draw(st.sampled_from(SIRENE_ACTIVITIES)),
            "nomenclatureActivitePrincipaleEtablissement": "NAFRev2", "caractereEmployeurEtablissement": draw(st.sampled_from("ON")),
            "activitePrincipaleNAF25Etablissement": draw(st.sampled_from([None, "56.30Y", "56.11J", "62.01Y"])),
        }  # fmt: skip
        rows.append(tuple(values[c] for c in SIRENE_HEADER))
    return Table(
        SIRENE_HEADER, tuple(rows), required={c: c for c in sirene_required()},
        codes=("siren", "siret", "codePostalEtablissement", "codeCommuneEtablissement"),
        layout=draw(st.sampled_from(["parquet", "zip"])),
    )


def write_sirene(table: Table, folder: Path) -> Built:
    if table.layout == "zip":
        member = "StockEtablissement_utf8.csv"
        path = put(folder / "StockEtablissement_utf8.zip", zip_bytes({member: csv_bytes(table.header, table.rows)}))
        return Built([path], SIRENE_VINTAGE, {path: "binary"}, members=(member,))
    frame = pl.DataFrame([list(r) for r in table.rows], schema={c: pl.Utf8 for c in table.header}, orient="row")
    path = folder / "StockEtablissement_utf8.parquet"
    frame.write_parquet(path)
    return Built([path], SIRENE_VINTAGE, {path: "binary"})


def check_sirene(table: Table, built: Built, result: dict) -> None:
    frame, path = result["establishments"]
    assert path == built.files[0]
    columns = [c for c in KEPT_COLUMNS if c in table.header]
    assert frame.columns == columns
    rev2, naf25 = set(naf_codes_for(SIRENE_VINTAGE)), set(naf25_codes_for(SIRENE_VINTAGE))
    rev2_starts, naf25_starts = naf_prefixes_for(SIRENE_VINTAGE), naf25_prefixes_for(SIRENE_VINTAGE)
    year, month = SIRENE_VINTAGE.split("-")
    since = f"{int(year) - closed_within_years_for(SIRENE_VINTAGE)}-{month}-01"

    def wanted(row) -> bool:
        state, started = table.get(row, "etatAdministratifEtablissement"), table.get(row, "dateDebut")
        activity, naf2025 = table.get(row, "activitePrincipaleEtablissement"), table.get(row, "activitePrincipaleNAF25Etablissement") or ""
        recent = state == "A" or (state == "F" and started >= since)
        return recent and (activity in rev2 or activity.startswith(rev2_starts) or naf2025 in naf25 or naf2025.startswith(naf25_starts))

    kept = [row for row in table.rows if wanted(row)]
    kept.sort(key=lambda row: table.get(row, "siret"))
    assert frame_rows(frame, columns) == table_rows(table, columns, kept)


# ----------------------------------------------------------------------------- sncf_stations

SNCF_SPEC = get_source("sncf_stations").entities["stations"]
SNCF_OPTIONAL = ("RG_TRONCON", "PK", "GEO_POINT")


def spell(name: str, spelling: str) -> str:
    return {"upper": name, "lower": name.lower(), "label": name.replace("_", " ").title()}[spelling]


@st.composite
def sncf_tables(draw):
    spelling = draw(st.sampled_from(["upper", "lower", "label"]))
    canonical = (*SNCF_SPEC["columns"], *(c for c in SNCF_OPTIONAL if draw(st.booleans())))
    codes = st.one_of(st.from_regex(r"87[0-9]{6}", fullmatch=True), st.from_regex(r"0[0-9]{7}", fullmatch=True))
    generators = {
        "CODE_UIC": codes, "LIBELLE": NAMES, "FRET": st.sampled_from("ON"), "VOYAGEURS": st.sampled_from("ON"),
        "CODE_LIGNE": st.from_regex(r"[0-9]{6}", fullmatch=True), "COMMUNE": NAMES.map(str.upper), "DEPARTEMEN": NAMES,
        "X_WGS84": LONGITUDES.map("{:.6f}".format), "Y_WGS84": LATITUDES.map("{:.6f}".format), "RG_TRONCON": st.sampled_from("12"),
        "PK": st.from_regex(r"[0-9]{3}\+[0-9]{3}", fullmatch=True), "GEO_POINT": st.just("48.1, 2.3"),
    }  # fmt: skip
    rows = tuple(tuple(draw(generators[c]) for c in canonical) for _ in range(draw(st.integers(1, 6))))
    spelled = {c: spell(c, spelling) for c in canonical}
    return Table(
        tuple(spelled.values()), rows, required={spelled[c]: c for c in SNCF_SPEC["columns"]},
        zero_checked={spelled["CODE_UIC"]: "CODE_UIC", spelled["CODE_LIGNE"]: "CODE_LIGNE"},
        codes=(spelled["CODE_UIC"], spelled["CODE_LIGNE"]), extra={"canonical": canonical},
    )


def write_sncf(table: Table, folder: Path) -> Built:
    path = put(folder / "liste-des-gares.csv", csv_bytes(table.header, table.rows, ";"))
    return Built([path], "2025", {path: "text"})


def check_sncf(table: Table, built: Built, result: dict) -> None:
    frame, path = result["stations"]
    assert path == built.files[0]
    canonical = table.extra["canonical"]
    declared = [c for c in (*SNCF_SPEC["columns"], *SNCF_SPEC["optional"]) if c in canonical]
    assert frame.columns == declared
    by_name = dict(zip(canonical, table.header))
    assert frame_rows(frame, declared) == table_rows(table, [by_name[c] for c in declared])


# ----------------------------------------------------------------------------- transport_gtfs

GTFS_VINTAGE, GTFS_DAY = "2026-W48", date(2026, 11, 24)  # the Tuesday of ISO week 48
GTFS_START, GTFS_END = date(2026, 11, 1), date(2026, 12, 31)
GTFS_SERVICES = {"WEEK": (1, 1, 1, 1, 1, 0, 0), "WEEKEND": (0, 0, 0, 0, 0, 1, 1)}
STOPS_HEADER = ("stop_id", "stop_name", "stop_lat", "stop_lon", "location_type", "parent_station")
FEED_COLUMNS = ("feed_id", "file_sha256", "agency_names", "start_date", "end_date", "validity_source", "reference_date",
                "trips_on_reference_date", "departures_status", "missing_files")  # fmt: skip


def service_days(service: str) -> list[date]:
    days = (GTFS_START + timedelta(n) for n in range((GTFS_END - GTFS_START).days + 1))
    return [d for d in days if GTFS_SERVICES[service][d.weekday()]]


@st.composite
def gtfs_tables(draw):
    ids = draw(st.lists(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9:_-]{0,8}", fullmatch=True), min_size=2, max_size=6, unique=True))
    rows = tuple(
        (stop, draw(NAMES), f"{draw(LATITUDES):.6f}", f"{draw(LONGITUDES):.6f}", draw(st.sampled_from([None, "0", "1"])), None)
        for stop in ids
    )
    calls = st.lists(st.integers(0, len(ids) - 1), min_size=2, max_size=4)
    trips = [(draw(st.sampled_from(sorted(GTFS_SERVICES))), draw(calls)) for _ in range(draw(st.integers(0, 4)))]
    return Table(
        STOPS_HEADER, rows, required={c: c for c in STOPS_HEADER[:4]},
        extra={"trips": trips, "agencies": draw(st.lists(NAMES, min_size=1, max_size=2)), "feed_info": draw(st.booleans()),
               "feed": draw(st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True))},
    )  # fmt: skip


def write_gtfs(table: Table, folder: Path) -> Built:
    ids = [table.get(row, "stop_id", f"s{i}") for i, row in enumerate(table.rows)]
    trips, agencies = table.extra["trips"], table.extra["agencies"]
    days = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    members = {
        "agency.txt": csv_bytes(("agency_id", "agency_name", "agency_url", "agency_timezone"),
                                [(f"A{i}", name, "https://example.org", "Europe/Paris") for i, name in enumerate(agencies)]),
        "stops.txt": csv_bytes(table.header, table.rows),
        "routes.txt": csv_bytes(("route_id", "agency_id", "route_short_name", "route_type"), [("R", "A0", "1", "3")]),
        "trips.txt": csv_bytes(("route_id", "service_id", "trip_id"), [("R", service, f"t{i}") for i, (service, _) in enumerate(trips)]),
        "stop_times.txt": csv_bytes(
            ("trip_id", "arrival_time", "departure_time", "stop_id", "stop_sequence"),
            [(f"t{i}", f"08:{n:02d}:00", f"08:{n:02d}:00", ids[stop], str(n + 1))
             for i, (_, calls) in enumerate(trips) for n, stop in enumerate(calls)],
        ),
        "calendar.txt": csv_bytes(
            ("service_id", *days, "start_date", "end_date"),
            [(service, *map(str, pattern), "20261101", "20261231") for service, pattern in GTFS_SERVICES.items()],
        ),
    }  # fmt: skip
    if table.extra["feed_info"]:
        members["feed_info.txt"] = csv_bytes(("feed_publisher_name", "feed_lang", "feed_start_date", "feed_end_date"),
                                             [("Réseau", "fr", "20261101", "20261231")])  # fmt: skip
    path = put(folder / f"{table.extra['feed']}.zip", zip_bytes(members))
    return Built([path], GTFS_VINTAGE, {path: "binary"}, members=tuple(members))


def check_gtfs(table: Table, built: Built, result: dict) -> None:
    feed_id = table.extra["feed"]
    stops, path = result["stops"]
    assert path == built.files[0]
    assert stops.columns == ["feed_id", *STOPS_HEADER]
    assert frame_rows(stops, stops.columns) == [(feed_id, *row) for row in table_rows(table, STOPS_HEADER)]

    ids = [table.get(row, "stop_id") for row in table.rows]
    trips = table.extra["trips"]
    running = [calls for service, calls in trips if GTFS_DAY in service_days(service)]
    days = [d for service in {s for s, _ in trips} for d in service_days(service)]
    if table.extra["feed_info"]:
        validity = ("2026-11-01", "2026-12-31", "feed_info")
    else:
        validity = (min(days).isoformat(), max(days).isoformat(), "service_days") if days else (None, None, None)
    expected_feed = (
        feed_id, hashlib.sha256(path.read_bytes()).hexdigest(), " | ".join(dict.fromkeys(table.extra["agencies"])), *validity,
        GTFS_DAY.isoformat(), str(len(running)), "counted" if running else "no_service", None,
    )  # fmt: skip
    feeds, _ = result["feeds"]
    assert frame_rows(feeds, FEED_COLUMNS) == [expected_feed]

    departures = {ids[stop]: 0 for _, calls in trips for stop in calls}
    for calls in running:
        for stop in calls[:-1]:  # a trip's last stop is no departure
            departures[ids[stop]] += 1
    if not running:
        assert "stop_departures" not in result
        return
    frame, _ = result["stop_departures"]
    expected = [(feed_id, stop, GTFS_DAY.isoformat(), str(n)) for stop, n in sorted(departures.items())]
    assert frame_rows(frame, ["feed_id", "stop_id", "reference_date", "departures"]) == expected


# ----------------------------------------------------------------------------- the cases

CENSUS_AGE = census_case("base-cc-evol-struct-pop-", ("POP", "POP0014", "POP1529", "POP3044", "POP4559", "POP6074", "POP7589", "POP90P"), ())
CENSUS_HOUSING = census_case("base-cc-logement-", ("RP", "RP_VOIT1P"), ("MEN", "LOG", "RP_VOIT1", "RP_VOIT2P"))

CASES: dict[str, Case] = {
    "anct_france_services": Case(services_tables(), write_services, check_services, "points", nested=True),
    "anct_frr": Case(frr_tables(), write_frr, check_frr, "communes", examples=12),
    "anct_observatoire": Case(observatoire_tables(), write_observatoire, check_observatoire, "values"),
    "anct_qpv": Case(qpv_tables(), write_qpv, check_qpv, "quartiers", nested=True),
    "anct_zrr": Case(zrr_tables(), write_zrr, check_zrr, "communes"),
    "commune_locations": Case(location_tables(), write_locations, check_locations, "communes", examples=6),
    "drees_apl": Case(apl_tables(), write_apl, check_apl, "communes", examples=10),
    "etalab_decoupage": Case(etalab_tables(), write_etalab, check_etalab, "communes", nested=True),
    "insee_bpe": Case(bpe_tables(), write_bpe, check_bpe, "equipments", refuses_garbage=False),
    "insee_census_age": Case(*CENSUS_AGE, "communes", latin1_reads=True),
    "insee_census_housing": Case(*CENSUS_HOUSING, "communes", latin1_reads=True),
    "insee_cog": Case(cog_tables(), write_cog, check_cog, "communes", refuses_garbage=False),
    "insee_density_grid": Case(density_tables(), write_density, check_density, "communes", examples=5),
    "insee_population": Case(population_tables(), write_population, check_population, "communes"),
    "insee_sirene": Case(sirene_tables(), write_sirene, check_sirene, "establishments", examples=10),
    "sncf_stations": Case(sncf_tables(), write_sncf, check_sncf, "stations"),
    "transport_gtfs": Case(gtfs_tables(), write_gtfs, check_gtfs, "stops", examples=12),
}


def run(prop: Callable, name: str, examples: int) -> None:
    """Run a property of one reader with hypothesis (no example database written in the project)."""

    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])  # fmt: skip
    @given(data=st.data())
    def inner(data):
        prop(name, data)

    inner()


def read_or_refusal(name: str, built: Built, nested: bool):
    """What the reader gives: its entities (checked to be text frames from the vintage's files),
    or its refusal, which must be a ParseError / SourceError naming the file."""
    try:
        result = get_reader(name)(built.files, built.vintage)
    except (ParseError, SourceError) as exc:
        named = [p.name for p in built.files] + list(built.members)
        assert any(n in str(exc) for n in named), f"the refusal does not name the file: {exc}"
        return exc
    assert isinstance(result, dict) and result
    for entity, (frame, path) in result.items():
        assert isinstance(frame, pl.DataFrame), entity
        assert path in built.files, (entity, path)
        for column, dtype in frame.schema.items():
            assert dtype == pl.Utf8 or (nested and isinstance(dtype, (pl.List, pl.Struct))), f"{entity}.{column} is {dtype}"
    return result


def texts(result: dict) -> list[str]:
    return [v for frame, _ in result.values() for column in frame.select(pl.col(pl.Utf8)).iter_columns() for v in column if v]


# ----------------------------------------------------------------------------- the properties


def well_formed_property(name: str, data) -> None:
    case = CASES[name]
    table = data.draw(case.tables, label="table")
    with tempfile.TemporaryDirectory() as tmp:
        built = case.write(table, Path(tmp))
        result = read_or_refusal(name, built, case.nested)
        assert not isinstance(result, Exception), f"a well-formed file was refused: {result}"
        case.check(table, built, result)


JUNK = st.sampled_from([5, -1.5, 1e300, True, None, "x", "", [], [1, "a"], {}, {"a": [1]}, [{"b": None}]])


def junk_json(original: bytes, data) -> bytes:
    """The JSON document with one value replaced by one of another type, a key deleted, or junk appended."""
    document = json.loads(original.decode("utf-8-sig"))
    containers, stack = [], [document]
    while stack:
        value = stack.pop(0)
        if isinstance(value, (dict, list)):
            containers.append(value)
            stack.extend(value.values() if isinstance(value, dict) else value)
    if data.draw(st.integers(0, 9), label="junk root") == 0:
        return json.dumps(data.draw(JUNK)).encode()
    container = data.draw(st.sampled_from(containers), label="container")
    junk, action = data.draw(JUNK, label="junk"), data.draw(st.sampled_from(["replace", "delete", "add"]), label="action")
    if isinstance(container, dict) and container and action != "add":
        key = data.draw(st.sampled_from(sorted(container)), label="key")
        if action == "delete":
            del container[key]
        else:
            container[key] = junk
    elif isinstance(container, list) and container and action != "add":
        index = data.draw(st.integers(0, len(container) - 1), label="index")
        if action == "delete":
            del container[index]
        else:
            container[index] = junk
    elif isinstance(container, dict):
        container["junk"] = junk
    else:
        container.append(junk)
    return json.dumps(document, ensure_ascii=False).encode()


def break_bytes(name: str, case: Case, table: Table, folder: Path, data) -> None:
    built = case.write(table, folder)
    target = data.draw(st.sampled_from(sorted(built.targets)), label="target")
    nature, original = built.targets[target], target.read_bytes()
    options = list(BYTE_FAULTS)
    options += ["latin-1", "utf-16"] if nature in ("text", "json") else []
    options += ["json"] * 4 if nature == "json" else []  # values of the wrong type: the likeliest JSON fault
    how = data.draw(st.sampled_from(options), label="breakage")
    if how in BYTE_FAULTS:
        broken = byte_fault(data, original, how)
    elif how == "json":
        broken = junk_json(original, data)
    else:
        try:
            text = original.decode("utf-8")
        except UnicodeDecodeError:  # written in latin-1 already (INSEE's census files)
            text = original.decode("latin-1")
        broken = text.encode(how, errors="replace") if how == "latin-1" else text.lstrip("\ufeff").encode("utf-16")
    target.write_bytes(broken)
    outcome = read_or_refusal(name, built, case.nested)
    if how in ("empty", "utf-16") or (how == "random" and case.refuses_garbage):
        assert isinstance(outcome, Exception), f"a file broken by '{how}' was read: {outcome}"
    if how == "latin-1" and (broken == original or case.latin1_reads):
        # Nothing but ASCII (the same bytes), or a reader documented to read latin-1 files.
        assert not isinstance(outcome, Exception), outcome
        case.check(table, built, outcome)
    elif how == "latin-1" and not isinstance(outcome, Exception):
        assert not any("\ufffd" in v for v in texts(outcome)), "latin-1 text was read as mangled UTF-8"


def zero_cells(table: Table) -> list[tuple[int, str]]:
    return [
        (i, column) for column in table.codes if column in table.header for i, row in enumerate(table.rows)
        if isinstance(table.get(row, column), str) and len(table.get(row, column)) > 1 and table.get(row, column)[0] == "0"
    ]  # fmt: skip


def break_table(name: str, case: Case, table: Table, kind: str, folder: Path, data) -> None:
    columns = [c for c in table.header if c]
    if kind == "strip_zeros":
        index, column = data.draw(st.sampled_from(zero_cells(table)), label="cell")
        broken = table.with_cell(index, column, table.get(table.rows[index], column)[1:])
    else:
        column = data.draw(st.sampled_from(columns), label="column")
        if kind == "drop":
            broken = table.without(column)
        elif kind == "rename":
            broken = table.renamed(column, "Z9_" + column)
        elif kind == "duplicate":  # a header naming a column twice (maybe in another case)
            other = data.draw(st.sampled_from([c for c in columns if c != column]), label="other")
            broken = table.renamed(column, data.draw(st.sampled_from([other, other.lower(), other.upper()]), label="name"))
        else:
            index = data.draw(st.integers(0, len(table.rows) - 1), label="row")
            broken = table.with_cell(index, column, data.draw(GARBAGE, label="garbage"))
    built = case.write(broken, folder)
    outcome = read_or_refusal(name, built, case.nested)
    if kind in ("drop", "rename") and column in table.required:
        assert isinstance(outcome, ParseError), f"read without its column {column}: {outcome}"
        assert table.required[column] in str(outcome), f"the refusal does not name {table.required[column]}: {outcome}"
    elif kind in ("drop", "rename") and not isinstance(outcome, Exception):
        frame, _ = outcome[case.entity]
        if column in frame.columns:  # a reader never makes up values for a column the file lacks
            assert frame[column].null_count() == frame.height, f"values made up for the missing {column}"
    elif kind == "strip_zeros" and column in table.zero_checked:
        assert isinstance(outcome, ParseError), f"a code without its leading zero was read: {outcome}"
        assert table.zero_checked[column] in str(outcome), outcome
    elif kind == "strip_zeros":
        # Handed over as written (the validation refuses it), never "repaired" into another code.
        assert not isinstance(outcome, Exception), outcome
        case.check(broken, built, outcome)


def malformed_property(name: str, data) -> None:
    case = CASES[name]
    table = data.draw(case.tables, label="table")
    kinds = ["bytes", "bytes", "bytes", "drop", "rename", "garbage_cell"] + (["strip_zeros"] if zero_cells(table) else [])
    kinds += [] if table.layout == "parquet" else ["duplicate"]  # a Parquet file cannot name a column twice
    kind = data.draw(st.sampled_from(kinds), label="kind")
    with tempfile.TemporaryDirectory() as tmp:
        if kind == "bytes":
            break_bytes(name, case, table, Path(tmp), data)
        else:
            break_table(name, case, table, kind, Path(tmp), data)


# ----------------------------------------------------------------------------- tests: every reader


# Readers whose properties are tested beside their other tests, in tests/test_source_<reader>.py.
OWN_PROPERTY_TESTS = ("anct_centres", "anct_littoral", "etalab_contours", "finess", "insee_appartenance", "insee_filosofi")


def test_every_reader_has_a_case():
    assert sorted(readers()) == sorted([*CASES, *OWN_PROPERTY_TESTS])
    for name in OWN_PROPERTY_TESTS:
        module = (Path(__file__).resolve().parents[1] / f"test_source_{name}.py").read_text(encoding="utf-8")
        assert "from hypothesis import" in module and "given(" in module, f"{name}: no property test in its test file"


@pytest.mark.parametrize("name", sorted(CASES))
def test_well_formed_files_read_back_as_written(name):
    run(well_formed_property, name, CASES[name].examples)


@pytest.mark.parametrize("name", sorted(CASES))
def test_malformed_files_give_their_values_or_a_clear_refusal(name):
    run(malformed_property, name, CASES[name].examples * 2)


@pytest.mark.parametrize("name", sorted(CASES))
def test_no_file_is_an_incomplete_vintage_naming_the_source(name):
    vintage = {"insee_sirene": SIRENE_VINTAGE, "transport_gtfs": GTFS_VINTAGE}.get(name, "2024")
    with pytest.raises(IncompleteVintage, match=f"^{name} {vintage}"):
        get_reader(name)([], vintage)


@given(st.text(max_size=20).filter(lambda s: s not in readers()))
@settings(max_examples=30, deadline=None, database=None)
def test_an_unknown_reader_name_is_a_parse_error_listing_the_known_ones(name):
    with pytest.raises(ParseError) as refused:
        get_reader(name)
    assert f"no reader named '{name}'" in str(refused.value)
    assert "known readers: anct_centres, anct_france_services, anct_frr" in str(refused.value)


# ----------------------------------------------------------------------------- tests: commune codes

PROPERTY_SETTINGS = settings(max_examples=60, deadline=None, database=None)


def rebuilt(columns: dict[str, list[str]]) -> list[str]:
    frame = pl.DataFrame(columns, schema={c: pl.Utf8 for c in columns})
    return frame.select(commune_code(frame.columns, "insee_population 2017 donnees_communes.csv")).to_series().to_list()


@given(codes=code_lists(), column=st.sampled_from(["CODDEP", "DEP"]), padded=st.booleans())
@PROPERTY_SETTINGS
def test_commune_code_rebuilds_the_five_character_code_of_the_older_layout(codes, column, padded):
    """01 + 001 → 01001, 2A + 4 → 2A004, 974 + 11 → 97411: the commune part, with or without its
    leading zeros, fills what the département code leaves of 5 characters."""
    departements = [departement_of(c) for c in codes]
    parts = [c[len(d) :] if padded else str(int(c[len(d) :])) for c, d in zip(codes, departements)]
    got = rebuilt({column: departements, "CODCOM": parts})
    assert got == codes
    assert all(re.fullmatch(COMMUNE_CODE_REGEX, code) for code in got)


@given(codes=st.lists(st.one_of(COMMUNE_CODES, st.text(max_size=8)), min_size=1, max_size=6))
@PROPERTY_SETTINGS
def test_commune_code_of_the_current_layout_is_com_as_written(codes):
    assert rebuilt({"DEP": ["01"] * len(codes), "CODCOM": ["001"] * len(codes), "COM": codes, "Commune": ["x"] * len(codes)}) == codes


@given(departement=st.integers(1, 9), part=st.integers(1, 999), padded=st.booleans())
@PROPERTY_SETTINGS
def test_a_departement_without_its_leading_zero_never_gives_a_valid_looking_code(departement, part, padded):
    """'1' + '001' is '1001', which the validation refuses, not a made-up 01001 or 10010."""
    (got,) = rebuilt({"CODDEP": [str(departement)], "CODCOM": [f"{part:03d}" if padded else str(part)]})
    assert got == f"{departement}{part:03d}"
    assert not re.fullmatch(COMMUNE_CODE_REGEX, got)


@given(columns=st.lists(st.sampled_from(["REG", "COM", "Commune", "CODCOM", "DEP_X", "PMUN", "codcom"]), unique=True))
@PROPERTY_SETTINGS
def test_commune_code_without_either_layout_is_a_parse_error_naming_the_file(columns):
    assume(not {"COM", "Commune"} <= set(columns))  # no DEP / CODDEP here: the older layout is never complete
    with pytest.raises(ParseError, match="donnees_communes.csv: cannot find the commune code") as refused:
        commune_code(columns, "insee_population 2017 donnees_communes.csv")
    assert "COM and Commune" in str(refused.value)


@given(code=COMMUNE_CODES)
@PROPERTY_SETTINGS
def test_generated_codes_are_commune_codes_and_lose_that_without_their_zero(code):
    assert re.fullmatch(COMMUNE_CODE_REGEX, code)
    if code.startswith("0"):
        assert not re.fullmatch(COMMUNE_CODE_REGEX, code[1:])


# ----------------------------------------------------------------------------- tests: common.py


@given(
    header=st.lists(st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True), min_size=1, max_size=5, unique=True),
    data=st.data(), separator=st.sampled_from([",", ";"]), bom=st.booleans(),
)
@PROPERTY_SETTINGS
def test_read_csv_text_keeps_every_value_as_written(header, data, separator, bom):
    values = st.one_of(COMMUNE_CODES, NAMES, DECIMALS, st.just("0"), st.just("007"))
    rows = data.draw(st.lists(st.tuples(*[values] * len(header)), min_size=1, max_size=5))
    frame = read_csv_text(csv_bytes(header, rows, separator, bom=bom), "src 2024 f.csv", separator=separator)
    assert frame.columns == header
    assert frame.schema == pl.Schema({c: pl.Utf8 for c in header})
    assert frame.rows() == rows


@given(data=st.binary(max_size=200), separator=st.sampled_from([",", ";"]), encoding=st.sampled_from(["utf-8", "latin-1"]))
@PROPERTY_SETTINGS
def test_read_csv_text_of_any_bytes_is_text_or_a_parse_error_naming_the_file(data, separator, encoding):
    try:
        frame = read_csv_text(data, "src 2024 f.csv", separator=separator, encoding=encoding)
    except ParseError as exc:
        assert str(exc).startswith("src 2024 f.csv: ")
        return
    assert all(dtype == pl.Utf8 for dtype in frame.dtypes)


@given(
    names=st.lists(st.from_regex(r"[A-Za-z0-9_ éà]{1,8}", fullmatch=True), min_size=2, max_size=6),
    separator=st.sampled_from([",", ";"]), bom=st.booleans(), other_in_a_name=st.booleans(),
)
@PROPERTY_SETTINGS
def test_sniff_separator_finds_the_separator_of_the_header_line(names, separator, bom, other_in_a_name):
    """Also when one quoted name holds the other separator once, and rows below use it often."""
    other = ";" if separator == "," else ","
    if other_in_a_name:
        names = [f'"{names[0]}{other}x"', *names[1:]]
    header = separator.join(names)
    data = ("\ufeff" if bom else "").encode() + header.encode() + b"\n" + (other * 20).encode() + b"\n"
    assert sniff_separator(data) == separator


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=8,
)


@given(value=JSON_VALUES, garbage=st.binary(max_size=20), broken=st.booleans())
@PROPERTY_SETTINGS
def test_load_json_records_gives_the_objects_or_a_parse_error_naming_the_file(value, garbage, broken):
    data = garbage if broken else json.dumps(value).encode()
    is_records = isinstance(value, list) and bool(value) and isinstance(value[0], dict)
    try:
        records = load_json_records(data, "src 2024 communes.json")
    except ParseError as exc:
        assert str(exc).startswith("src 2024 communes.json: ")
        assert broken or not is_records, exc
        return
    assert records == (json.loads(garbage.decode("utf-8-sig")) if broken else value)
    assert broken or is_records
    assert isinstance(records, list) and isinstance(records[0], dict)
