"""ANCT France Services: one point per labelled space, antenna or itinerant bus (GeoJSON).

The properties are kept as published (MATRICULE, lib_france_services, insee_com, LATITUDE,
LONGITUDE…); ``lon_wgs84`` and ``lat_wgs84`` are added from the point geometry, or from the
LONGITUDE and LATITUDE properties for a feature without geometry.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from pipelines.sources.readers.anct_qpv import feature_properties, load_features
from pipelines.sources.readers.common import IncompleteVintage, ParseError, describe, read_bytes

SOURCE = "anct_france_services"
PROPERTIES = (
    "MATRICULE", "lib_france_services", "insee_com", "lib_com", "code_postal", "ADRESSE", "DEPARTEMENT",
    "FORMAT_FS", "categorie", "ITINERANCE", "Labellisation", "LONGITUDE", "LATITUDE",
)  # fmt: skip
REQUIRED = ("MATRICULE", "lib_france_services")
# Decimals kept for coordinates (about 1 mm): enough, and never written in exponent form.
COORDINATE_SCALE = 8


def read(files: Sequence[Path], vintage: str, source: str = SOURCE) -> dict[str, tuple[pl.DataFrame, Path]]:
    """The points of the newest GeoJSON of the vintage, with the file they came from."""
    path = next((p for p in files if p.name.lower().endswith((".geojson", ".json"))), None)
    if path is None:
        names = ", ".join(p.name for p in files) or "no file"
        raise IncompleteVintage(f"{source} {vintage}: no France Services GeoJSON among the snapshot files ({names})")
    where = describe(source, vintage, path)
    features = load_features(read_bytes(path), where)
    properties = feature_properties(features, where)
    # Only the known properties are kept, unless one is missing: validation then names a renamed one.
    if set(REQUIRED) <= set(properties.columns):
        properties = properties.select([c for c in PROPERTIES if c in properties.columns])
    points = properties.hstack(_coordinates(features, properties, where))
    return {"points": (points, path)}


def _coordinates(features: list[dict], properties: pl.DataFrame, where: str) -> pl.DataFrame:
    """lon_wgs84 and lat_wgs84 as text: the point geometry's, else the LONGITUDE/LATITUDE properties."""
    try:
        geometries = pl.from_dicts([feature.get("geometry") or {} for feature in features], infer_schema_length=None)
    except pl.exceptions.PolarsError:
        raise ParseError(f"{where}: the geometries are not all points ([longitude, latitude])") from None
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


def _decimal_text(number: pl.Expr) -> pl.Expr:
    """A number as plain decimal text (no exponent, no trailing zeros)."""
    text = number.cast(pl.Float64).cast(pl.Decimal(16, COORDINATE_SCALE)).cast(pl.Utf8)
    return text.str.replace(r"0+$", "").str.replace(r"\.$", "")
