"""Helpers the national writers share: folders, seeded draws in SQL, projections, zips, CSV text."""

from __future__ import annotations

import codecs
import shutil
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import duckdb

from pipelines.sample.national.facts import EPSG_BY_DEPARTEMENT, METROPOLITAN_EPSG

ZIP_DATE = (2026, 1, 1, 0, 0, 0)  # fixed member dates: the same bytes on every run
MEMORY_LIMIT = "2GB"  # what DuckDB may hold while writing the large files; the rest spills to disk
_PRIME = 1_000_003


def vintage_dir(dest: Path, source: str, vintage: str) -> Path:
    """<dest>/<source>/<vintage>/, created."""
    folder = Path(dest) / source / vintage
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def add_macros(con: duckdb.DuckDBPyConnection, seed: int) -> None:
    """Seeded draws and projections as DuckDB macros.

    rnd(key, salt)        a uniform number in [0, 1), the same for the same key, salt and seed
    rnd_int(key, salt, n) an integer in [0, n)
    rnd_normal(key, salt) a standard normal draw (Box-Muller on two rnd draws)
    epsg_of(commune)      the projection INSEE gives coordinates in for a commune code
    proj_x(lon, lat, epsg), proj_y(lon, lat, epsg)  WGS84 to that projection, in metres
    """
    con.execute("load spatial")
    con.execute(f"create or replace macro rnd(key, salt) as (hash(key, salt, {int(seed)}) % {_PRIME}) / {_PRIME}.0")
    con.execute("create or replace macro rnd_int(key, salt, n) as cast(floor(rnd(key, salt) * n) as bigint)")
    con.execute(
        "create or replace macro rnd_normal(key, salt) as "
        "sqrt(-2 * ln(1 - rnd(key, salt || ':a'))) * cos(2 * pi() * rnd(key, salt || ':b'))"
    )
    cases = " ".join(f"when '{prefix}' then {epsg}" for prefix, epsg in EPSG_BY_DEPARTEMENT.items())
    con.execute(f"create or replace macro epsg_of(commune) as case left(commune, 3) {cases} else {METROPOLITAN_EPSG} end")
    for axis, fn in (("x", "st_x"), ("y", "st_y")):
        zones = " ".join(
            f"when {epsg} then {fn}(st_transform(st_point(lon, lat), 'EPSG:4326', 'EPSG:{epsg}', always_xy := true))"
            for epsg in sorted({METROPOLITAN_EPSG, *EPSG_BY_DEPARTEMENT.values()})
        )
        con.execute(f"create or replace macro proj_{axis}(lon, lat, epsg) as case epsg {zones} end")


def zip_members(path: Path, members: Mapping[str, Path | bytes], *, date: tuple = ZIP_DATE) -> Path:
    """A zip of files on disk (streamed) or bytes, deflated, with fixed dates; written under a temporary name."""
    partial = path.with_name(f".{path.name}.partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        for name, content in members.items():
            info = zipfile.ZipInfo(name, date_time=date)
            info.compress_type = zipfile.ZIP_DEFLATED
            if isinstance(content, bytes):
                archive.writestr(info, content)
            else:
                with open(content, "rb") as source, archive.open(info, "w", force_zip64=True) as target:
                    shutil.copyfileobj(source, target, 1 << 20)
    partial.replace(path)
    return path


def reencode(path: Path, encoding: str, *, bom: bool = False) -> Path:
    """Rewrite a UTF-8 text file in another encoding (streamed), or with a BOM."""
    partial = path.with_name(f".{path.name}.partial")
    decoder = codecs.getincrementaldecoder("utf-8")()
    with open(path, "rb") as source, open(partial, "w", encoding=encoding, newline="") as target:
        if bom:
            target.write("\ufeff")
        while chunk := source.read(1 << 20):
            target.write(decoder.decode(chunk))
        target.write(decoder.decode(b"", final=True))
    partial.replace(path)
    return path


def sql_text(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def copy_lines(con: duckdb.DuckDBPyConnection, query: str, path: Path) -> Path:
    """Write the only column of a query's rows as lines of text, as they are (no quoting), in its order."""
    con.execute(f"copy ({query}) to {sql_text(Path(path).as_posix())} (format csv, header false, quote '', escape '', delimiter '\x01')")
    return path


@contextmanager
def bounded_memory(con: duckdb.DuckDBPyConnection, **settings: str) -> Iterator[None]:
    """DuckDB within MEMORY_LIMIT (spilling to the connection's temporary folder), and the given settings (SQL values), for the block."""
    settings = {"memory_limit": f"'{MEMORY_LIMIT}'", **settings}
    for name, value in settings.items():
        con.execute(f"set {name} = {value}")
    try:
        yield
    finally:
        for name in settings:
            con.execute(f"reset {name}")
