"""INSEE Base permanente des équipements: the detail file and the counts per commune.

The detail file comes as a `;`-separated CSV in a zip (BPE 2021: bpe21_ensemble_xy.csv;
BPE 2023: BPE23.csv), as a bare CSV given by hand, or as Parquet (BPE 2024 on). Only the
columns the warehouse uses are read, lazily, so the wide recent files (~90 columns, 2.7
million rows) stay cheap.

The counts per commune come from INSEE's DS_BPE file (GEO, GEO_OBJECT, FACILITY_TYPE,
TIME_PERIOD, OBS_VALUE…), which stacks France, région, département and total rows with the
commune rows: the commune and arrondissement rows are kept, the totals dropped, and the
columns handed over under the names of the older count files (DEPCOM, TYPEQU, AN,
NB_EQUIP), which are read as they are.
"""

from __future__ import annotations

import difflib
import shutil
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import polars as pl

from pipelines.sources.archives import list_members, open_member
from pipelines.sources.errors import ArchiveError
from pipelines.sources.readers.common import IncompleteVintage, ParseError, describe, is_archive

SOURCE = "insee_bpe"
SEPARATOR = ";"

EQUIPMENT_COLUMNS = (
    "DEPCOM", "DCIRIS", "AN", "TYPEQU", "LAMBERT_X", "LAMBERT_Y", "QUALITE_XY", "EPSG", "LONGITUDE", "LATITUDE",
)  # fmt: skip
EQUIPMENT_REQUIRED = ("DEPCOM", "AN", "TYPEQU", "LAMBERT_X", "LAMBERT_Y", "QUALITE_XY")
COUNT_COLUMNS = ("DEPCOM", "DCIRIS", "AN", "TYPEQU", "NB_EQUIP")
COUNT_REQUIRED = ("DEPCOM", "AN", "TYPEQU", "NB_EQUIP")
# DS_BPE column → the name the older count files give it.
DS_BPE_COLUMNS = {
    "GEO": "DEPCOM", "GEO_OBJECT": "GEO_OBJECT", "FACILITY_TYPE": "TYPEQU", "TIME_PERIOD": "AN",
    "OBS_VALUE": "NB_EQUIP",
}  # fmt: skip
COMMUNE_LEVELS = ("COM", "ARM")
# A single equipment type; totals are written '_T' (or as a bare domain letter).
TYPEQU_PATTERN = r"^[A-Z][0-9]{3}$"
# Uncompressed size allowed for one archive member (the recent CSVs exceed 1 GB).
MAX_MEMBER_BYTES = 8 * 1024**3

# Projection of LAMBERT_X/LAMBERT_Y by département when the file has no EPSG column (up to
# BPE 2021): Lambert-93 in metropolitan France, the local UTM projection in the DROM.
EPSG_BY_DEPARTEMENT = {"971": 5490, "972": 5490, "973": 2972, "974": 2975, "976": 4471}
METROPOLITAN_EPSG = 2154


def epsg_of(commune_code: pl.Expr) -> pl.Expr:
    """The projection of the BPE coordinates of a commune code column (as documented by INSEE)."""
    prefix = commune_code.str.slice(0, 3)
    return prefix.replace_strict(EPSG_BY_DEPARTEMENT, default=METROPOLITAN_EPSG, return_dtype=pl.Int64)


def entity_of(path: Path) -> str | None:
    """Which entity a file holds, from its name: 'commune_counts', 'equipments' or None."""
    name = path.name.lower()
    if not name.endswith((".zip", ".csv", ".parquet")):
        return None
    if name.startswith("ds_bpe") or ("ensemble" in name and "_xy" not in name):
        return "commune_counts"
    return "equipments"


def read(files: Sequence[Path], vintage: str, source: str = SOURCE) -> dict[str, tuple[pl.DataFrame, Path]]:
    """The equipments (detail file) and, when present, the commune counts of a vintage."""
    frames: dict[str, tuple[pl.DataFrame, Path]] = {}
    for path in files:
        entity = entity_of(path)
        if entity is None or entity in frames:
            continue
        where = describe(source, vintage, path)
        reader = read_equipments if entity == "equipments" else read_commune_counts
        frames[entity] = (reader(path, where), path)
    if "equipments" not in frames:
        names = ", ".join(p.name for p in files) or "no file"
        raise IncompleteVintage(f"{source} {vintage}: no BPE detail file (zip, CSV or Parquet) among ({names})")
    return frames


def read_equipments(path: Path, where: str) -> pl.DataFrame:
    """The detail file's columns the warehouse uses, as text, one row per equipment."""
    with open_table(path, where) as table:
        return collect_text(table, EQUIPMENT_COLUMNS, EQUIPMENT_REQUIRED, where)


def read_commune_counts(path: Path, where: str) -> pl.DataFrame:
    """Equipment counts per commune (or arrondissement) and type, totals dropped."""
    with open_table(path, where, member_suffix="_data.csv") as table:
        names = column_names(table, where)
        if "GEO" not in names:
            return collect_text(table, COUNT_COLUMNS, COUNT_REQUIRED, where)
        missing = [c for c in DS_BPE_COLUMNS if c not in names]
        if missing:
            raise ParseError(
                f"{where}: the DS_BPE layout lacks column(s) {', '.join(missing)} "
                f"(columns found: {', '.join(names[:15])})"
            )
        rows = table.filter(
            pl.col("GEO_OBJECT").is_in(COMMUNE_LEVELS) & pl.col("FACILITY_TYPE").str.contains(TYPEQU_PATTERN)
        )
        if "BPE_MEASURE" in names:
            rows = rows.filter(pl.col("BPE_MEASURE").is_null() | (pl.col("BPE_MEASURE") == "FACILITIES"))
        renamed = rows.select([pl.col(c).cast(pl.Utf8).alias(new) for c, new in DS_BPE_COLUMNS.items()])
        return collect(renamed, where)


@contextmanager
def open_table(path: Path, where: str, member_suffix: str | None = None) -> Iterator[pl.LazyFrame]:
    """A lazy frame over a Parquet file, a CSV, or the CSV inside a zip (extracted to a temporary file)."""
    if path.stat().st_size == 0:
        raise ParseError(f"{where}: the file is empty")
    if path.name.lower().endswith(".parquet"):
        yield pl.scan_parquet(path)
        return
    if not is_archive(path):
        yield scan_csv(path, where)
        return
    member = csv_member(path, where, member_suffix)
    folder = Path(tempfile.mkdtemp(prefix="insee_bpe-"))
    try:
        extracted = folder / member.rsplit("/", 1)[-1]
        try:
            with open_member(path, member, max_bytes=MAX_MEMBER_BYTES) as handle, extracted.open("wb") as out:
                shutil.copyfileobj(handle, out, 1024 * 1024)
        except ArchiveError as exc:
            raise ParseError(f"{where}: {exc}") from None
        yield scan_csv(extracted, where)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def csv_member(path: Path, where: str, suffix: str | None) -> str:
    """The CSV member of an archive: the one ending with suffix if any, else the largest CSV
    (a zip may also hold a small dictionary of the variables)."""
    try:
        members = [m for m in list_members(path) if m.lower().endswith(".csv")]
    except ArchiveError as exc:
        raise ParseError(f"{where}: {exc}") from None
    if not members:
        raise ParseError(f"{where}: the archive holds no CSV file")
    preferred = [m for m in members if suffix and m.lower().endswith(suffix.lower())]
    if preferred:
        return preferred[0]
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            sizes = {info.filename: info.file_size for info in archive.infolist()}
        return max(members, key=lambda m: sizes.get(m, 0))
    return members[0]


def scan_csv(path: Path, where: str) -> pl.LazyFrame:
    """A `;`-separated UTF-8 file with every column read as text (codes keep their leading zeros)."""
    with path.open("rb") as handle:
        start = handle.read(4096)
    if not start.strip():
        raise ParseError(f"{where}: the file is empty")
    # polars decodes the header leniently: a UTF-16 file would come back as columns of garbage.
    if start.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in start:
        raise ParseError(
            f"{where}: the file is UTF-16 encoded (probably re-saved by a spreadsheet), not UTF-8; use the original file"
        )
    return pl.scan_csv(path, separator=SEPARATOR, infer_schema=False, encoding="utf8")


def collect_text(table: pl.LazyFrame, wanted: Sequence[str], required: Sequence[str], where: str) -> pl.DataFrame:
    """The wanted columns present in the table, as text; a required column that is absent
    brings its closest look-alike along, so that validation can say it was renamed."""
    names = column_names(table, where)
    keep = [c for c in wanted if c in names]
    for column in (c for c in required if c not in names):
        keep += [m for m in difflib.get_close_matches(column, names, n=1, cutoff=0.75) if m not in keep]
    return collect(table.select([pl.col(c).cast(pl.Utf8) for c in keep]), where)


def column_names(table: pl.LazyFrame, where: str) -> list[str]:
    """The header of the table, or a sentence saying it cannot be read."""
    try:
        return table.collect_schema().names()
    except pl.exceptions.PolarsError as exc:
        raise ParseError(f"{where}: cannot be read ({exc}); is the file complete?") from None


def collect(table: pl.LazyFrame, where: str) -> pl.DataFrame:
    """Run the lazy read, turning decoding errors into sentences; blank lines are dropped."""
    try:
        frame = table.collect()
    except pl.exceptions.ComputeError as exc:
        if "utf-8" in str(exc).lower():
            raise ParseError(
                f"{where}: cannot be decoded as UTF-8 ({exc}); the publisher may have changed the encoding"
            ) from None
        raise ParseError(f"{where}: not a readable '{SEPARATOR}'-separated or Parquet file ({exc})") from None
    except pl.exceptions.PolarsError as exc:
        raise ParseError(f"{where}: cannot be read ({exc})") from None
    return frame.filter(~pl.all_horizontal(pl.all().is_null())) if frame.width else frame
