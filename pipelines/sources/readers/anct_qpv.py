"""ANCT quartiers prioritaires de la politique de la ville (QPV) and the communes they lie in.

Two layouts are read, recognised by their content:

* the ANCT national contours of the 2024 QPV: a ZIP holding
  ``GEOJSON/QP2024_France_Hexagonale_Outre_Mer_WGS84.geojson`` (or that GeoJSON alone), whose
  features carry ``code_qp, lib_qp, insee_dep, insee_com, lib_com…``; a QPV spanning several
  communes lists them all in ``insee_com`` ("13055, 13070");
* the 2015-generation layout of the Occitanie extract: ``qp.geojson`` (``code_qp, nom_qp,
  code_commune, nom_commune, code_departement``) with ``qp.csv`` (INSEE statistics, among
  them ``pop_mun``, the population of the QPV).

Beside the contours, two kinds of CSV are told apart by their columns: INSEE's statistics in
the layout of the Occitanie extract's qp.csv (``code_qp, nom_qp, nom_commune, pop_mun`` and
the statistics: ``ind_jeune, tp60, tx_tot_empl, abcde…``), for either generation, and INSEE's
population of the 2024 QPV (``pop_QPV24.csv``: one row per QPV, its code and its population,
whose column names are taken from POPULATION_FILE_CODES and POPULATION_FILE_POPULATIONS; the
file's exact layout is not confirmed, see the catalogue). A QPV the population file does not
list keeps an unknown population; when both are given, the population file's wins.

They come out with the 2024 property names as three entities: ``quartiers`` (code_qp, lib_qp,
insee_dep, lib_com, insee_com as published, and pop_mun when a CSV gives it), ``communes``
(code_qp, insee_com: one row per QPV and commune) and, when the statistics are given,
``statistics`` (code_qp and every statistic of the file, as text, empty when absent or secret).
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
    sniff_separator,
)

SOURCE = "anct_qpv"
# 2015-layout names → the names of the 2024 ANCT file.
RENAMES = {"nom_qp": "lib_qp", "code_commune": "insee_com", "nom_commune": "lib_com", "code_departement": "insee_dep"}
CONTOUR_COLUMNS = ("code_qp", "lib_qp", "insee_dep", "lib_com", "insee_com")
STATISTICS_COLUMNS = ("code_qp", "lib_qp", "lib_com", "pop_mun")
# Names of the QPV code and of the population in INSEE's QPV population file (pop_QPV24.csv).
POPULATION_FILE_CODES = ("code_qp", "CODE_QP", "codgeo", "CODGEO", "qp", "QP")
POPULATION_FILE_POPULATIONS = ("pop_mun", "POP_MUN", "population", "POPULATION", "pop", "POP")
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
    not_text = [c for c in CONTOUR_COLUMNS if c in contours.columns and contours.schema[c] != pl.Utf8]
    if not_text:
        raise ParseError(f"{where}: property {', '.join(not_text)} is not text (a list or an object in some features)")
    # Only the known properties are kept, unless one is missing: validation then names a renamed one.
    if {"code_qp", "lib_qp", "insee_com"} <= set(contours.columns):
        contours = contours.select([c for c in CONTOUR_COLUMNS if c in contours.columns])
    frames = {"quartiers": (contours, contours_path), "communes": (commune_links(contours), contours_path)}
    tables = _tables(files, source, vintage)
    if "statistics" in tables:
        statistics, path = tables["statistics"]
        quartiers = _with_statistics(contours, statistics, describe(source, vintage, path))
        frames["quartiers"] = (quartiers, path)
        frames["statistics"] = (statistics.drop("lib_qp", "lib_com", strict=False), path)
    if "populations" in tables:
        populations, path = tables["populations"]
        quartiers = _with_populations(frames["quartiers"][0], populations, describe(source, vintage, path))
        frames["quartiers"] = (quartiers, path)
    return frames


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
    wrong = next((f for f in features if not isinstance(f, dict) or not isinstance(f.get("properties") or {}, dict)), None)
    if wrong is not None:
        raise ParseError(f"{where}: a feature or its properties is not a JSON object (found {str(wrong)[:60]})")
    return features


def feature_properties(features: list[dict], where: str) -> pl.DataFrame:
    """The properties of every feature as a frame of text columns (geometries left aside)."""
    try:
        return frame_from_records([feature.get("properties") or {} for feature in features])
    except (pl.exceptions.PolarsError, TypeError) as exc:
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


def _tables(files: Sequence[Path], source: str, vintage: str) -> dict[str, tuple[pl.DataFrame, Path]]:
    """The vintage's CSV files by kind, the first (newest) of each: "statistics" (the layout of
    qp.csv, with the QPV's name) and "populations" (INSEE's QPV population file, without it)."""
    tables: dict[str, tuple[pl.DataFrame, Path]] = {}
    for path in (p for p in files if p.name.lower().endswith(".csv")):
        frame = _renamed(_read_delimited(read_bytes(path), describe(source, vintage, path)))
        tables.setdefault("statistics" if "lib_qp" in frame.columns else "populations", (frame, path))
    return tables


def _renamed(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.rename({old: new for old, new in RENAMES.items() if old in frame.columns and new not in frame.columns})


def _read_delimited(data: bytes, where: str) -> pl.DataFrame:
    """A CSV separated by ';' (INSEE) or ',' (the Occitanie extract), told by its first line."""
    return read_csv_text(data, where, separator=sniff_separator(data))


def _with_populations(contours: pl.DataFrame, populations: pl.DataFrame, where: str) -> pl.DataFrame:
    """The contours' QPV with pop_mun from INSEE's population file; a QPV it does not list keeps
    an unknown population (never 0), a QPV it lists that the contours do not is an error."""
    code = next((c for c in POPULATION_FILE_CODES if c in populations.columns), None)
    population = next((c for c in POPULATION_FILE_POPULATIONS if c in populations.columns), None)
    if "code_qp" not in contours.columns:
        raise ParseError(f"{where}: the contours have no code_qp property to match the populations with")
    if code is None or population is None:
        raise ParseError(
            f"{where}: not INSEE's QPV population file: it needs a QPV code column (one of "
            f"{', '.join(POPULATION_FILE_CODES)}) and a population column (one of "
            f"{', '.join(POPULATION_FILE_POPULATIONS)}); the file has {', '.join(populations.columns[:10])}"
        )
    given = populations.select(pl.col(code).str.strip_chars().alias("code_qp"), pl.col(population).alias("pop_mun"))
    unknown = given.join(contours, on="code_qp", how="anti")["code_qp"].to_list()
    if unknown:
        raise ParseError(
            f"{where}: QPV codes absent from the contours ({', '.join(unknown[:5])}); "
            "are both files of the same generation?"
        )
    return contours.drop("pop_mun", strict=False).join(given, on="code_qp", how="left", maintain_order="left")


def _with_statistics(contours: pl.DataFrame, statistics: pl.DataFrame, where: str) -> pl.DataFrame:
    """The QPV list of the statistics CSV (with pop_mun), completed by département and commune
    codes from the contours; both files must list the same QPV."""
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
