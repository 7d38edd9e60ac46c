"""INSEE census, population by age band per commune: base-cc-evol-struct-pop-<year>.

The zip base-cc-evol-struct-pop-<year>_csv.zip holds one ';' CSV of about 35,000 rows and
more than a hundred columns whose names carry the census year: P21_POP0014 is the
population aged 0–14 in 2021, P15_POP the population six years earlier.

Deliberate exception to "readers keep the publisher's names": the census-year columns are
handed over without their year prefix (P21_POP0014 → POP0014), with a CENSUS_YEAR column,
so that one raw table holds every vintage under the same names. Only the columns needed
are read. `read_census_table` is shared with the housing base (insee_census_housing).
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from pipelines.sources.archives import list_members
from pipelines.sources.readers.common import IncompleteVintage, ParseError, describe, is_archive, read_bytes

SOURCE = "insee_census_age"
FILE_STEM = "base-cc-evol-struct-pop-"
AGE_COLUMNS = ("POP", "POP0014", "POP1529", "POP3044", "POP4559", "POP6074", "POP7589", "POP90P")


def read(files: Sequence[Path], vintage: str, source: str = SOURCE) -> dict[str, tuple[pl.DataFrame, Path]]:
    """The communes entity of one census year: CODGEO, CENSUS_YEAR and the age bands."""
    return {"communes": read_census_table(files, vintage, source, FILE_STEM, AGE_COLUMNS)}


def read_census_table(
    files: Sequence[Path],
    vintage: str,
    source: str,
    file_stem: str,
    required: Sequence[str],
    optional: Sequence[str] = (),
) -> tuple[pl.DataFrame, Path]:
    """CODGEO, CENSUS_YEAR and the census-year columns P<yy>_<name> of a base-cc file, renamed <name>.

    The vintage is the census year, so vintage 2021 reads the P21_ columns. When a required
    column is missing, every census-year column is handed over (renamed) so that the
    validation can name a close match.
    """
    path, member = _locate(files, vintage, source, file_stem)
    where = describe(source, vintage, path) + (f" ({member})" if member else "")
    data = _plain_text(read_bytes(path, member), where)
    header = _header(data)
    prefix = f"P{vintage[-2:]}_"
    if not any(column.startswith(prefix) for column in header):
        years = sorted({"20" + c[1:3] for c in header if re.match(r"^P\d\d_", c)})
        raise ParseError(
            f"{where}: no {prefix}… column for census year {vintage}; the file holds census years "
            f"{', '.join(years) or 'none'} — is it the file of another vintage?"
        )
    names = [name for name in (*required, *optional) if prefix + name in header]
    complete = "CODGEO" in header and all(name in names for name in required)
    if complete:
        columns = ["CODGEO", *(prefix + name for name in names)]
    else:
        columns = [c for c in header if c == "CODGEO" or c.startswith(prefix)]
    renamed = [c.removeprefix(prefix) for c in columns]
    repeated = sorted({c for c, name in zip(columns, renamed) if renamed.count(name) > 1})
    if repeated:
        raise ParseError(f"{where}: the header names {', '.join(repeated)} more than once (census year prefix left aside)")
    try:
        # The columns read are codes and numbers (ASCII): the file's latin-1 bytes elsewhere
        # are never decoded.
        frame = pl.read_csv(
            io.BytesIO(data), separator=";", columns=columns, infer_schema=False, encoding="utf8-lossy"
        )
    except pl.exceptions.PolarsError as exc:
        raise ParseError(f"{where}: not a readable ';'-separated file ({exc})") from None
    frame = frame.filter(~pl.all_horizontal(pl.all().is_null()))
    frame = frame.rename({c: c.removeprefix(prefix) for c in columns if c.startswith(prefix)})
    frame = frame.with_columns(pl.lit(vintage).alias("CENSUS_YEAR"))
    if complete:
        frame = frame.select("CODGEO", "CENSUS_YEAR", *names)
    return frame, path


def _locate(files: Sequence[Path], vintage: str, source: str, file_stem: str) -> tuple[Path, str | None]:
    """The first file (newest first) that is the base's CSV or an archive holding it."""

    def is_data_csv(name: str) -> bool:
        # The zips also hold a meta_<stem>….CSV list of variables, which does not match.
        base = name.rsplit("/", 1)[-1].lower()
        return base.startswith(file_stem) and base.endswith(".csv")

    archives = [path for path in files if is_archive(path)]
    for path in files:
        if is_data_csv(path.name):
            return path, None
        if path in archives:
            members = sorted((m for m in list_members(path) if is_data_csv(m)), key=len)
            if members:
                return path, members[0]
    if archives:
        found = ", ".join(list_members(archives[0])) or "nothing"
        raise ParseError(
            f"{describe(source, vintage, archives[0])}: the archive holds no {file_stem}{vintage}.CSV "
            f"(it holds {found}); is it the right file?"
        )
    names = ", ".join(p.name for p in files) or "no file"
    raise IncompleteVintage(
        f"{source} {vintage}: no {file_stem}{vintage}.CSV among the snapshot files ({names}); "
        f"ingest INSEE's {file_stem}{vintage}_csv.zip or the CSV itself"
    )


def _plain_text(data: bytes, where: str) -> bytes:
    """The file's bytes without a UTF-8 byte-order mark; refuses empty and UTF-16 files."""
    if not data.strip():
        raise ParseError(f"{where}: the file is empty")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data[:4096]:
        raise ParseError(
            f"{where}: the file is UTF-16 encoded (probably re-saved by a spreadsheet), not the "
            "latin-1 text INSEE publishes; use the original file"
        )
    return data.removeprefix(b"\xef\xbb\xbf")


def _header(data: bytes) -> list[str]:
    """Column names of the first line, without quotes or spaces."""
    first_line = data.split(b"\n", 1)[0].decode("latin-1")
    return [name.strip().strip('"').strip() for name in first_line.split(";")]
