"""ANCT quartiers prioritaires de la politique de la ville (QPV) and the communes they lie in.

Two layouts are read, recognised by their content:

* the ANCT national contours of the 2024 QPV: a ZIP holding
  ``GEOJSON/QP2024_France_Hexagonale_Outre_Mer_WGS84.geojson`` (or that GeoJSON alone), whose
  features carry ``code_qp, lib_qp, insee_dep, insee_com, lib_com…``; a QPV spanning several
  communes lists them all in ``insee_com`` ("13055, 13070");
* the 2015-generation layout of the Occitanie extract: ``qp.geojson`` (``code_qp, nom_qp,
  code_commune, nom_commune, code_departement``) with ``qp.csv`` (INSEE statistics, among
  them ``pop_mun``, the population of the QPV).

Both come out with the 2024 property names as two entities: ``quartiers`` (code_qp, lib_qp,
insee_dep, lib_com, insee_com as published, and pop_mun when a statistics CSV is given) and
``communes`` (code_qp, insee_com: one row per QPV and commune).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from pipelines.sources.archives import list_members
from pipelines.sources.readers.common import (
    IncompleteVintage,
    ParseError,
    describe,
    frame_from_records,
    is_archive,
    read_bytes,
    read_csv_text,
)

SOURCE = "anct_qpv"
# 2015-layout names → the names of the 2024 ANCT file.
RENAMES = {"nom_qp": "lib_qp", "code_commune": "insee_com", "nom_commune": "lib_com", "code_departement": "insee_dep"}
CONTOUR_COLUMNS = ("code_qp", "lib_qp", "insee_dep", "lib_com", "insee_com")
STATISTICS_COLUMNS = ("code_qp", "lib_qp", "lib_com", "pop_mun")
# Separators met between the commune codes of one QPV, besides commas.
CODE_SEPARATORS = r"\s+-\s+|[;/|]"


def read(files: Sequence[Path], vintage: str, source: str = SOURCE) -> dict[str, tuple[pl.DataFrame, Path]]:
    """The QPV of one vintage (with the file each came from): quartiers and communes."""
    found = _locate_contours(files, source, vintage)
    if found is None:
        names = ", ".join(p.name for p in files) or "no file"
        raise IncompleteVintage(
            f"{source} {vintage}: no QPV GeoJSON (or ZIP holding one) among the snapshot files ({names})"
        )
    contours_path, member = found
    where = describe(source, vintage, contours_path) + (f" ({member})" if member else "")
    contours = _renamed(feature_properties(load_features(read_bytes(contours_path, member), where), where))
    # Only the known properties are kept, unless one is missing: validation then names a renamed one.
    if {"code_qp", "lib_qp", "insee_com"} <= set(contours.columns):
        contours = contours.select([c for c in CONTOUR_COLUMNS if c in contours.columns])
    communes = commune_links(contours)

    statistics_path = next((p for p in files if p.name.lower().endswith(".csv")), None)
    if statistics_path is None:
        return {"quartiers": (contours, contours_path), "communes": (communes, contours_path)}
    quartiers = _with_statistics(contours, statistics_path, describe(source, vintage, statistics_path))
    return {"quartiers": (quartiers, statistics_path), "communes": (communes, contours_path)}


def load_features(data: bytes, where: str) -> list[dict]:
    """The features of a GeoJSON FeatureCollection, or a ParseError saying what was found."""
    try:
        value = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ParseError(f"{where}: not valid UTF-8 GeoJSON ({exc}); is the file complete?") from None
    if not isinstance(value, dict) or value.get("type") != "FeatureCollection":
        found = value.get("type") if isinstance(value, dict) else type(value).__name__
        raise ParseError(f"{where}: expected a GeoJSON FeatureCollection, found {found!r}")
    features = value.get("features")
    if not isinstance(features, list) or not features:
        raise ParseError(f"{where}: the FeatureCollection has no features")
    return features


def feature_properties(features: list[dict], where: str) -> pl.DataFrame:
    """The properties of every feature as a frame of text columns (geometries left aside)."""
    try:
        return frame_from_records([feature.get("properties") or {} for feature in features])
    except pl.exceptions.PolarsError as exc:
        raise ParseError(f"{where}: the feature properties cannot be read as a table ({exc})") from None


def commune_links(quartiers: pl.DataFrame) -> pl.DataFrame:
    """One row per QPV and commune code, from the published cell listing them (kept as written,
    so that validation names codes that lost a leading zero)."""
    if "insee_com" not in quartiers.columns:
        # Validation then reports the missing column, with the close matches present.
        return quartiers
    return (
        quartiers.select(
            pl.col("code_qp") if "code_qp" in quartiers.columns else pl.lit(None, pl.Utf8).alias("code_qp"),
            pl.col("insee_com").str.replace_all(CODE_SEPARATORS, ",").str.split(","),
        )
        .explode("insee_com", empty_as_null=True)
        .with_columns(pl.col("insee_com").str.strip_chars())
        .filter(pl.col("insee_com").is_null() | (pl.col("insee_com") != ""))
        .unique(maintain_order=True)
    )


def _locate_contours(files: Sequence[Path], source: str, vintage: str) -> tuple[Path, str | None] | None:
    """The first GeoJSON of the snapshot files (newest first), loose or inside an archive."""
    for path in files:
        if path.name.lower().endswith((".geojson", ".json")):
            return path, None
        if is_archive(path):
            return path, _national_member(path, describe(source, vintage, path))
    return None


def _national_member(path: Path, where: str) -> str:
    """The national GeoJSON of the ANCT archive, which also holds one file per territory."""
    members = [m for m in list_members(path) if m.lower().endswith(".geojson")]
    # The file covering metropolitan and overseas France first, then any France-wide one.
    for wanted in (("france", "outre_mer", "wgs84"), ("france", "wgs84"), ()):
        found = [m for m in members if all(word in m.lower() for word in wanted)]
        if len(found) == 1:
            return found[0]
        if found:
            break
    listed = ", ".join(members[:10]) or "none"
    raise ParseError(f"{where}: cannot tell the national QPV GeoJSON among the archive's members ({listed})")


def _renamed(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.rename({old: new for old, new in RENAMES.items() if old in frame.columns and new not in frame.columns})


def _with_statistics(contours: pl.DataFrame, path: Path, where: str) -> pl.DataFrame:
    """The QPV list of the statistics CSV (with pop_mun), completed by département and commune
    codes from the contours; both files must list the same QPV."""
    statistics = _renamed(read_csv_text(read_bytes(path), where))
    if "code_qp" not in statistics.columns or "code_qp" not in contours.columns:
        raise ParseError(f"{where}: no code_qp column to match the statistics with the contours")
    if "pop_mun" not in statistics.columns:
        shown = ", ".join(statistics.columns[:8])
        raise ParseError(f"{where}: column pop_mun (population of each QPV) is missing (columns: {shown}, ...)")
    only_here = statistics.join(contours, on="code_qp", how="anti")["code_qp"].to_list()
    only_there = contours.join(statistics, on="code_qp", how="anti")["code_qp"].to_list()
    if only_here or only_there:
        raise ParseError(
            f"{where}: the statistics and the contours do not list the same QPV "
            f"(only in the statistics: {', '.join(only_here[:5]) or 'none'}; "
            f"only in the contours: {', '.join(only_there[:5]) or 'none'}); are both files of the same vintage?"
        )
    kept = statistics.select([c for c in STATISTICS_COLUMNS if c in statistics.columns])
    completed = [c for c in CONTOUR_COLUMNS if c in contours.columns and c not in kept.columns]
    return kept.join(contours.select("code_qp", *completed), on="code_qp", how="left", maintain_order="left")
