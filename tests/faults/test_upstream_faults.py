"""Upstream faults, one row each of UPSTREAM_FAULTS, through the path a build takes.

A data home first loads a real file of a source, served by a local HTTP mirror:
ANCT's list of FRR communes of July 2025 (34,875 communes, a `;` CSV), INSEE's legal
populations (a zip; the sample's, as no real copy is at hand) or DREES's APL workbook
(the real .xlsx). Then the mirror serves the fault, and the vintage is ingested again
with `ingest_vintage`, as the build's raw asset does: fetch, parse, validate, load.

For every fault the vintage either takes the new file (a retry that succeeded, a
variant the reader knows) or keeps what it had: the rows loaded before, byte for byte
the snapshot behind them, no temporary file left; and the outcome says what went wrong,
naming the file and, for a drifted format, the column.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import re
import shutil
import stat
import zipfile
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import duckdb
import pytest

from http_fixtures import Reply, serve
from pipelines.sources.catalogue import get_source
from pipelines.sources.fetch import Fetcher
from pipelines.sources.snapshots import RawStore
from pipelines.warehouse.ingestion import ingest_vintage, loaded_identity, raw_table

pytestmark = [pytest.mark.real_data, pytest.mark.xdist_group("upstream_faults")]

FRR = ("anct_frr", "2025", "liste-communes-FRR-juillet2025.csv", "communes")
POPULATION = ("insee_population", "2023", "ensemble.zip", "communes")
APL = ("drees_apl", "2023", "apl_medecins_generalistes.xlsx", "communes")
HTML_PAGE = b"<!DOCTYPE html>\n<html><head><title>Maintenance</title></head><body>Site en maintenance</body></html>"


def zipped(members: dict[str, bytes], *, symlinks: tuple[str, ...] = ()) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            if name in symlinks:
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def bomb(data: bytes) -> bytes:
    """The zip with its CSV grown by 600 MB of zeros (about 600 kB compressed), beyond the 512 MB a member may have."""
    members = unzipped(data)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("donnees_communes.csv", "w", force_zip64=True) as member:
            member.write(members["donnees_communes.csv"])
            zeros = b"0" * 1024**2
            for _ in range(600):
                member.write(zeros)
    return buffer.getvalue()


def unzipped(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def csv_lines(change: Callable[[list[str]], list[str]]) -> Callable[[bytes], bytes]:
    """A change of the FRR CSV's lines (CRLF, UTF-8)."""
    return lambda data: "\r\n".join(change(data.decode("utf-8").split("\r\n"))).encode("utf-8")


def members_changed(change: Callable[[dict[str, bytes]], dict[str, bytes]], **options) -> Callable[[bytes], bytes]:
    return lambda data: zipped(change(unzipped(data)), **options)


CELL = re.compile(r'<c r="([A-Z]+)(\d+)"([^>]*?)(/>|>(.*?)</c>)', re.S)
SHARED_STRING = re.compile(r"<si>(.*?)</si>", re.S)
TEXT = re.compile(r"<t[^>]*>([^<]*)</t>")
CODE_HEADER = "Code commune INSEE"
DATE_STYLE_FORMAT = 14  # Excel's built-in short date format


def apl_cells(change: Callable[[str, int], str | None], *, dates: bool = False) -> Callable[[bytes], bytes]:
    """The APL workbook with its code cells changed, as a spreadsheet typing the column saves them.

    change(code, n), n counting the sheet's codes from 0, gives the cell's new number (its
    <v>), or None to keep the text. The workbook's XML is edited in place (openpyxl takes
    about 20 s to load and save these two 10 MB sheets). With dates, changed cells also get
    a date style, added to styles.xml.
    """

    def changed(data: bytes) -> bytes:
        with zipfile.ZipFile(io.BytesIO(data)) as book:
            parts = {info.filename: book.read(info.filename) for info in book.infolist()}
        strings = ["".join(TEXT.findall(si)) for si in SHARED_STRING.findall(parts["xl/sharedStrings.xml"].decode("utf-8"))]
        date_style = None
        if dates:
            styles = parts["xl/styles.xml"].decode("utf-8")
            count = int(re.search(r'<cellXfs count="(\d+)"', styles).group(1))
            date_xf = f'<xf numFmtId="{DATE_STYLE_FORMAT}" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
            styles = styles.replace(f'<cellXfs count="{count}">', f'<cellXfs count="{count + 1}">', 1)
            parts["xl/styles.xml"] = styles.replace("</cellXfs>", date_xf + "</cellXfs>", 1).encode("utf-8")
            date_style = count
        for name in [n for n in parts if n.startswith("xl/worksheets/sheet")]:
            parts[name] = _typed_codes(parts[name].decode("utf-8"), strings, change, date_style).encode("utf-8")
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as book:
            for name, part in parts.items():
                book.writestr(name, part)
        return out.getvalue()

    return changed


def _typed_codes(sheet: str, strings: list[str], change: Callable[[str, int], str | None], date_style: int | None) -> str:
    """The sheet's XML with the text cells under its CODE_HEADER cell made numbers by change()."""

    def text(match) -> str | None:
        value = re.search(r"<v>(\d+)</v>", match.group(5) or "")
        return strings[int(value.group(1))] if 't="s"' in match.group(3) and value else None

    header = next((m for m in CELL.finditer(sheet) if text(m) == CODE_HEADER), None)
    if header is None:
        return sheet
    column, header_row = header.group(1), int(header.group(2))
    codes = itertools.count()

    def retype(match) -> str:
        code = text(match)
        if match.group(1) != column or int(match.group(2)) <= header_row or code is None:
            return match.group(0)
        number = change(code, next(codes))
        if number is None:
            return match.group(0)
        attributes = match.group(3).replace(' t="s"', "")
        if date_style is not None:
            attributes = re.sub(r' s="\d+"', "", attributes) + f' s="{date_style}"'
        return f'<c r="{match.group(1)}{match.group(2)}"{attributes}><v>{number}</v></c>'

    return CELL.sub(retype, sheet)


def codes_as_numbers(code: str, n: int) -> str | None:
    return str(int(code)) if code.isdigit() else None  # 01001 becomes 1001, as a spreadsheet typing the column would


def codes_as_dates(code: str, n: int) -> str | None:
    """The first 40 codes typed as dates by a spreadsheet: 2001-01-01… (serials 36892…), valid-looking codes."""
    return str(36892 + n % 28) if n < 40 else None


@dataclass(frozen=True)
class Fault:
    name: str
    target: tuple[str, str, str, str] = FRR
    replies: tuple = ()  # scripted answers for the file, in order: a Reply, a Reply made of the file, or None (the file)
    served: Callable[[bytes], bytes] | None = None  # or: the file as upstream now serves it
    refused_connection: bool = False
    status: str = "unchanged"  # the vintage afterwards: unchanged (what it had), invalid (refused, what it had), loaded (the new file)
    says: tuple[str, ...] = ()  # what the outcome must say (regular expressions)
    waits: tuple[float, ...] | None = None  # the waits the fetcher asked for, when they matter


UPSTREAM_FAULTS = [
    # ---- the connection and HTTP
    Fault("connection refused", refused_connection=True, says=("network error", "3 tries", "serving the snapshot of")),
    Fault("reset mid-body, three times", replies=(Reply(200, body=b"x" * 50_000, truncate_to=1000, reset=True),),
          says=(r"network error|truncated", "3 tries")),  # fmt: skip
    Fault("reset mid-body, then the file", replies=(Reply(200, body=b"x" * 50_000, truncate_to=1000, reset=True), None),
          status="loaded", waits=(1.0,)),  # fmt: skip
    Fault("read timeout mid-body", replies=(Reply(200, body=b"x" * 50_000, stall=(1000, 3.0)),),
          says=("timed out", "3 tries")),  # fmt: skip
    Fault("500 then success", replies=(Reply(500, body=b"oops"), None), status="loaded", waits=(1.0,)),
    Fault("503 with Retry-After", replies=(Reply(503, {"Retry-After": "7"}), None), status="loaded", waits=(7.0,)),
    Fault("429 with Retry-After", replies=(Reply(429, {"Retry-After": "12"}), Reply(429, {"Retry-After": "3"}), None),
          status="loaded", waits=(12.0, 3.0)),  # fmt: skip
    Fault("503 that never ends", replies=(Reply(503, {"Retry-After": "5"}),), says=("HTTP 503", "3 tries"), waits=(5.0, 5.0)),
    Fault("200 with an HTML error page", replies=(Reply(200, {"Content-Type": "text/html"}, HTML_PAGE),),
          says=("HTML page instead of a CSV file", "serving the snapshot of")),  # fmt: skip
    Fault("200 with an HTML page said to be CSV", replies=(Reply(200, {"Content-Type": "text/csv"}, HTML_PAGE),),
          says=("HTML page instead of a CSV file",)),  # fmt: skip
    Fault("200 with a JSON error", replies=(Reply(200, {"Content-Type": "application/json"}, b'{"error": "quota exceeded"}'),),
          says=("JSON document instead of a CSV file", "quota exceeded")),  # fmt: skip
    Fault("truncated, with Content-Length", replies=(Reply(200, body=b"x" * 50_000, truncate_to=20_000),),
          says=("truncated: received 20000 of 50000 bytes",)),  # fmt: skip
    Fault("truncated, chunked without Content-Length", replies=(Reply(200, body=b"x" * 50_000, truncate_to=20_000, framing="chunked"),),
          says=(r"network error|incomplete|truncated",)),  # fmt: skip
    Fault("truncated zip, without Content-Length", target=POPULATION,
          replies=(lambda data: Reply(200, {"Content-Type": "application/zip"}, data, truncate_to=len(data) // 2, framing="close"),),
          says=("not whole: it has no central directory", "cut short")),  # fmt: skip
    Fault("404 for a vintage already loaded", replies=(Reply(404, body=b"not found"),),
          says=("HTTP 404", "moved or been removed", "serving the snapshot of")),  # fmt: skip
    Fault("410 gone for a vintage already loaded", replies=(Reply(410, body=b"gone"),), says=("HTTP 410", "serving the snapshot of")),
    Fault("an empty file", replies=(Reply(200, {"Content-Type": "text/csv"}, b""),), says=("the file is empty",)),
    # ---- archives
    Fault("a zip that is not a zip", target=POPULATION, served=lambda data: b"PK\x03\x04 this is not really a zip " * 100,
          says=("no central directory",)),  # fmt: skip
    Fault("a zip with a ../ entry", target=POPULATION,
          served=members_changed(lambda m: {**m, "../../evil.csv": b"CODGEO;PMUN\n"}),
          status="invalid", says=(r"\.\./\.\./evil\.csv",)),  # fmt: skip
    Fault("a zip with an absolute entry", target=POPULATION,
          served=members_changed(lambda m: {**m, "/etc/evil.csv": b"x"}), status="invalid", says=("/etc/evil.csv",)),  # fmt: skip
    Fault("a zip with a symlink entry", target=POPULATION,
          served=members_changed(lambda m: {**m, "link.csv": b"/etc/passwd"}, symlinks=("link.csv",)),
          status="invalid", says=("link.csv", "link")),  # fmt: skip
    Fault("a zip bomb beyond the cap", target=POPULATION,
          served=bomb,
          status="invalid", says=(r"limit|cap|too large|bomb",)),  # fmt: skip
    Fault("a nested zip", target=POPULATION,
          served=lambda data: zipped({"ensemble/ensemble.zip": data}), status="invalid", says=("donnees_communes",)),  # fmt: skip
    # ---- a format that drifted
    Fault("a column renamed", served=csv_lines(lambda ls: [ls[0].replace("Code_insee", "Code INSEE commune"), *ls[1:]]),
          status="invalid", says=("Code_insee",)),  # fmt: skip
    Fault("separator changed to ,", served=csv_lines(lambda ls: [line.replace(";", ",") for line in ls]),
          status="loaded"),  # fmt: skip
    Fault("Windows-1252 instead of UTF-8", served=lambda data: data.decode("utf-8").encode("cp1252"), status="loaded"),
    Fault("a BOM", served=lambda data: b"\xef\xbb\xbf" + data, status="loaded"),
    Fault("the header moved down a row", served=lambda data: "Liste des communes FRR;;;;\r\n".encode() + data, status="loaded"),
    Fault("duplicate keys", served=csv_lines(lambda ls: [*ls[:3], ls[1], *ls[3:]]),
          status="invalid", says=("01001", r"duplicate|more than once|twice")),  # fmt: skip
    Fault("codes without leading zeros", served=csv_lines(lambda ls: [ls[0], *[re.sub(r"^0", "", line) for line in ls[1:]]]),
          status="invalid", says=("Code_insee", "1001")),  # fmt: skip
    Fault("Excel numbers as codes", target=APL, served=apl_cells(codes_as_numbers),
          status="invalid", says=("Code commune INSEE", "1001")),  # fmt: skip
    Fault("Excel dates as codes", target=APL, served=apl_cells(codes_as_dates, dates=True),
          status="invalid", says=("Code commune INSEE", "dates")),  # fmt: skip
]


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture(scope="module")
def originals(real_data, sample_files) -> dict[str, bytes]:
    folder, _ = sample_files
    return {
        "anct_frr": (real_data / "frr" / "liste-communes-FRR-juillet2025.csv").read_bytes(),
        "insee_population": (folder / "insee_population" / "2023" / "ensemble.zip").read_bytes(),
        "drees_apl": (real_data / "apl" / "apl_generalistes.xlsx").read_bytes(),
    }


@pytest.fixture(scope="module")
def loaded_homes(tmp_path_factory, originals) -> dict[str, Path]:
    """A data home per target with its file loaded once from the mirror (copied for each fault)."""
    homes = {}
    for source_id, vintage, file_name, entity in (FRR, POPULATION, APL):
        root = tmp_path_factory.mktemp(f"loaded_{source_id}")
        mirror = root / "mirror" / source_id / vintage
        mirror.mkdir(parents=True)
        (mirror / file_name).write_bytes(originals[source_id])
        outcome = _ingest(root / "home", root / "mirror", source_id, vintage, sample=source_id == "insee_population")
        assert outcome.status == "loaded", outcome.describe()
        homes[source_id] = root
    return homes


def _ingest(home: Path, mirror: Path | str, source_id: str, vintage: str, *, sample: bool, sleeps=None, server=None):
    home.mkdir(parents=True, exist_ok=True)
    store = RawStore(home)
    with serve(directory=mirror) if server is None else nullcontext(server) as http:
        with Fetcher(store, mirror=http.base_url, sleep=Sleeps() if sleeps is None else sleeps, retries=2, connect_timeout=1,
                     read_timeout=1, progress=False) as fetcher:  # fmt: skip
            with duckdb.connect(str(home / "warehouse.duckdb")) as con:
                return ingest_vintage(con, store, fetcher, get_source(source_id), vintage, sample=sample)


def _state(home: Path, source_id: str, vintage: str, entity: str):
    """What a vintage holds: the identity of its last load, and its row count and a hash of its values."""
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        identity = loaded_identity(con, source_id, vintage)
        rows = con.execute(
            f"select count(*), hash(list(t order by t)) from (select * exclude (_loaded_at, _snapshot_sha256) from {raw_table(source_id, entity)} "
            "where _vintage = ?) t", [vintage],
        ).fetchone()  # fmt: skip
    return identity, rows


def _snapshots_whole(home: Path) -> int:
    store = RawStore(home)
    snapshots = store.snapshots()
    for snap in snapshots:
        assert hashlib.sha256(snap.path.read_bytes()).hexdigest() == snap.sha256, f"{snap.path} differs from its sha256"
    return len(snapshots)


@pytest.mark.parametrize("fault", UPSTREAM_FAULTS, ids=[f.name for f in UPSTREAM_FAULTS])
def test_an_upstream_fault_keeps_what_was_loaded_or_takes_the_new_file(fault, loaded_homes, originals, tmp_path):
    source_id, vintage, file_name, entity = fault.target
    root = tmp_path / "copy"
    shutil.copytree(loaded_homes[source_id], root)
    home, mirror = root / "home", root / "mirror"
    before = _state(home, source_id, vintage, entity)
    snapshots = _snapshots_whole(home)
    path = f"/{source_id}/{vintage}/{file_name}"
    served = originals[source_id]
    if fault.served is not None:
        served = fault.served(originals[source_id])
        (mirror / source_id / vintage / file_name).write_bytes(served)
    elif fault.status == "loaded":  # a retry that ends with a new edition of the file
        served = served + (b"\r\n" if source_id == "anct_frr" else b"")
        (mirror / source_id / vintage / file_name).write_bytes(served)
    sleeps = Sleeps()
    sample = source_id == "insee_population"
    if fault.refused_connection:
        with serve(directory=mirror) as closed:
            pass  # its port is now closed: every connection is refused
        outcome = _ingest(home, mirror, source_id, vintage, sample=sample, sleeps=sleeps, server=closed)
    else:
        with serve(directory=mirror) as server:
            if fault.replies:
                file_reply = Reply(200, {}, served)
                replies = [r(served) if callable(r) else r for r in fault.replies]
                server.script(path, [r if r is not None else file_reply for r in replies])
            outcome = _ingest(home, mirror, source_id, vintage, sample=sample, sleeps=sleeps, server=server)
    said = outcome.describe()
    print(f"\n{fault.name}: {said[:400]}")
    assert outcome.status == fault.status, said
    for words in fault.says:
        assert re.search(words, said), f"{fault.name}: the outcome does not say {words!r}: {said}"
    if fault.waits is not None:
        assert tuple(sleeps) == fault.waits, sleeps
    if outcome.status != "loaded":
        assert file_name in said, f"the outcome does not name the file: {said}"
    after = _state(home, source_id, vintage, entity)
    if fault.status == "loaded":
        assert after[0] != before[0] and after[1] == before[1], (before, after)  # a new snapshot, the same rows and values
    else:
        assert after == before, "what was loaded changed"
    assert _snapshots_whole(home) >= snapshots
    leftovers = [p for p in home.rglob("*") if re.match(r"\.(partial|incoming|tmp)-", p.name)]
    assert not leftovers, leftovers
