"""ANCT France Services: one point per labelled space, antenna or itinerant bus.

Two layouts, handed over with the same columns (the names of the older layout):

* the national list of data.gouv.fr (``liste-fs-<date>.csv``, since 2024): one row per
  site, columns id_fs, lib_fs, insee_com, latitude, longitude, type_fs, format_fs… Its
  columns are renamed by :data:`LIST_COLUMNS`; the separator (``,`` or ``;``) is taken
  from the header line and a UTF-8 BOM is dropped;
* the GeoJSON of the ANCT cartography team (2020): properties MATRICULE,
  lib_france_services, insee_com, LATITUDE, LONGITUDE, FORMAT_FS, categorie… kept as
  published.

``lon_wgs84`` and ``lat_wgs84`` are the point's coordinates: the list's longitude and
latitude as published, or the GeoJSON point geometry (its LONGITUDE and LATITUDE
properties for a feature without geometry).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from pipelines.sources.readers.anct_qpv import feature_properties, load_features
from pipelines.sources.readers.common import (
    IncompleteVintage,
    ParseError,
    describe,
    read_bytes,
    read_csv_text,
    sniff_separator,
)

SOURCE = "anct_france_services"
PROPERTIES = (
    "MATRICULE", "lib_france_services", "insee_com", "lib_com", "code_postal", "ADRESSE", "DEPARTEMENT",
    "FORMAT_FS", "categorie", "ITINERANCE", "Groupe", "Labellisation", "LONGITUDE", "LATITUDE",
)  # fmt: skip
REQUIRED = ("MATRICULE", "lib_france_services")
# Column of the national list -> name handed over (that of the GeoJSON where it has one).
LIST_COLUMNS = {
    "id_fs": "MATRICULE", "lib_fs": "lib_france_services", "insee_com": "insee_com", "lib_com": "lib_com",
    "code_postal": "code_postal", "adresse": "ADRESSE", "insee_dep": "DEPARTEMENT", "type_fs": "TYPE_FS",
    "format_fs": "FORMAT_FS", "groupe_fs": "Groupe", "labellisation_fs": "Labellisation",
    "longitude": "LONGITUDE", "latitude": "LATITUDE",
}  # fmt: skip
LIST_REQUIRED = ("id_fs", "lib_fs", "longitude", "latitude")
# Decimals kept for coordinates (about 1 mm): enough, and never written in exponent form.
COORDINATE_SCALE = 8


def read(files: Sequence[Path], vintage: str, source: str = SOURCE) -> dict[str, tuple[pl.DataFrame, Path]]:
    """The points of the newest list (CSV) or GeoJSON of the vintage, with the file they came from."""
    path = next((p for p in files if p.name.lower().endswith((".csv", ".geojson", ".json"))), None)
    if path is None:
        names = ", ".join(p.name for p in files) or "no file"
        raise IncompleteVintage(
            f"{source} {vintage}: no France Services list (.csv or .geojson) among the snapshot files ({names})"
        )
    where = describe(source, vintage, path)
    read_layout = _read_list if path.name.lower().endswith(".csv") else _read_geojson
    return {"points": (read_layout(read_bytes(path), where), path)}


def _read_list(data: bytes, where: str) -> pl.DataFrame:
    """The national list: its columns renamed, lon_wgs84 and lat_wgs84 its longitude and latitude."""
    frame = read_csv_text(data, where, separator=sniff_separator(data))
    missing = [c for c in LIST_REQUIRED if c not in frame.columns]
    if missing:
        raise ParseError(
            f"{where}: column {', '.join(missing)} is missing from the France Services list "
            f"(the file has: {', '.join(frame.columns[:30]) or 'no column'}); was it renamed?"
        )
    frame = frame.select([pl.col(c).alias(name) for c, name in LIST_COLUMNS.items() if c in frame.columns])
    return frame.with_columns(pl.col("LONGITUDE").alias("lon_wgs84"), pl.col("LATITUDE").alias("lat_wgs84"))


def _read_geojson(data: bytes, where: str) -> pl.DataFrame:
    """The GeoJSON's known properties, and the coordinates of each point."""
    features = load_features(data, where)
    properties = feature_properties(features, where)
    # Only the known properties are kept, unless one is missing: validation then names a renamed one.
    if set(REQUIRED) <= set(properties.columns):
        properties = properties.select([c for c in PROPERTIES if c in properties.columns])
    return properties.hstack(_coordinates(features, properties, where))


def _coordinates(features: list[dict], properties: pl.DataFrame, where: str) -> pl.DataFrame:
    """lon_wgs84 and lat_wgs84 as text: the point geometry's, else the LONGITUDE/LATITUDE properties."""
    try:
        geometries = pl.from_dicts([feature.get("geometry") or {} for feature in features], infer_schema_length=None)
        absent = {"type": pl.Utf8, "coordinates": pl.List(pl.Float64)}
        geometries = geometries.with_columns(
            [pl.lit(None, dtype).alias(name) for name, dtype in absent.items() if name not in geometries.columns]
        )
        published = properties.select(
            [(pl.col(c) if c in properties.columns else pl.lit(None, pl.Utf8)).alias(c) for c in ("LONGITUDE", "LATITUDE")]
        )
        is_point = pl.col("type") == "Point"
        return geometries.select("type", "coordinates").hstack(published).select(
            pl.when(is_point).then(_decimal_text(pl.col("coordinates").list.get(0, null_on_oob=True)))
            .otherwise(pl.col("LONGITUDE")).alias("lon_wgs84"),
            pl.when(is_point).then(_decimal_text(pl.col("coordinates").list.get(1, null_on_oob=True)))
            .otherwise(pl.col("LATITUDE")).alias("lat_wgs84"),
        )
    except (pl.exceptions.PolarsError, TypeError) as exc:
        # A geometry that is not an object, coordinates that are not numbers or out of range.
        problem = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ParseError(f"{where}: the geometries are not all points ([longitude, latitude]): {problem}") from None


def _decimal_text(number: pl.Expr) -> pl.Expr:
    """A number as plain decimal text (no exponent, no trailing zeros)."""
    text = number.cast(pl.Float64).cast(pl.Decimal(16, COORDINATE_SCALE)).cast(pl.Utf8)
    return text.str.replace(r"0+$", "").str.replace(r"\.$", "")
