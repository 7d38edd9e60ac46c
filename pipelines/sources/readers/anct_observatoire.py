"""Observatoire des territoires (ANCT): CSV exports of its Geoclip API, one indicator per file.

Each file is ``<dataset>__<indicator>.csv``, the answer of ``GC_API_download.php?…&format=csv``:
``;``-separated UTF-8 with the columns ``codgeo;libgeo``, sometimes ``an`` (year) and other
dimensions (e.g. ``sexe``), then the indicator. Other Geoclip portals (INSEE Statistiques
locales, CartoSanté) export the same way with title lines above a ``Code;Libellé;…`` header
and several indicators side by side: :func:`parse_export` and :func:`stack_values` read both.

Every file of a vintage is stacked into one ``values`` frame: DATASET, INDIC, NIVGEO (``com``
and the COG year, i.e. the vintage, for communes; the warehouse's level id, such as
``bassin_vie``, for an export at another level), codgeo, libgeo, an, DIMENSIONS (the other
dimension columns as ``name=value;…``), VALEUR (as published: ``-9999`` and ``N/A - …`` are
kept for staging to flag), FILE_NAME and FILE_SHA256 (the file each row came from).

Exports of those portals are often at another level than the commune: their title lines say
which (``Référentiel géographique : France par bassin de vie``), and the values are kept at
that level (:data:`LEVEL_TITLES`), never read as communes' values. A bassin de vie's code is
the code of its central commune: without the title, such a file would pass for communes.
A file named ``<dataset>.csv`` (no ``__<indicator>``) is a wide export: every column but the
code, label and year is an indicator, named by its header (``Taux de pauvreté 2021``); a
trailing year in that header becomes ``an``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from pipelines.quality import COMMUNE_CODE_REGEX
from pipelines.sources.readers.common import IncompleteVintage, ParseError, describe, plain_text, read_bytes, read_csv_text

SOURCE = "anct_observatoire"
CODE_HEADERS = ("codgeo", "code")
LABEL_HEADERS = ("libgeo", "libellé", "libelle")
YEAR_HEADER = "an"
# Geoclip exports put at most a few title lines above the header.
MAX_TITLE_LINES = 5
COLUMNS = ("DATASET", "INDIC", "NIVGEO", "codgeo", "libgeo", "an", "DIMENSIONS", "VALEUR", "FILE_NAME", "FILE_SHA256")
# What the title lines of a Geoclip export say of its level (accents and case ignored), and
# the warehouse's level id; the commune level is "com<vintage>". The longest match wins.
LEVEL_TITLES = {
    "commune": None, "bassin de vie": "bassin_vie", "zone d'emploi": "zone_emploi", "zone d emploi": "zone_emploi",
    "unite urbaine": "unite_urbaine", "aire d'attraction": "aire_attraction", "aire d attraction": "aire_attraction",
    "arrondissement": "arrondissement", "canton": "canton", "epci": "epci", "intercommunalite": "epci",
    "departement": "departement", "region": "region",
}  # fmt: skip
# Levels whose codes are commune codes (a bassin de vie is named after its central commune).
COMMUNE_CODED_LEVELS = (None, "bassin_vie")


def read(files: Sequence[Path], vintage: str, source: str = SOURCE) -> dict[str, tuple[pl.DataFrame, Path]]:
    """Every (dataset, indicator) file of the vintage stacked into one values frame.

    A pair whose file has no snapshot yet is simply absent. The frame is attributed to the
    newest file, the one that changed on a re-run; each row names its own file in FILE_NAME.
    """
    spreadsheets = [p.name for p in files if p.name.lower().endswith((".xlsx", ".xls"))]
    if spreadsheets:
        raise ParseError(
            f"{source} {vintage} {spreadsheets[0]}: the xlsx export (with title rows) is not read; "
            "download the pair with format=csv"
        )
    frames = []
    csv_files = [p for p in files if p.name.lower().endswith(".csv")]
    for path in csv_files:
        where = describe(source, vintage, path)
        dataset, indicator = pair_of(path, where)
        data = read_bytes(path)
        level = export_level(data, where)
        values = stack_values(parse_export(data, where), where, dataset, indicator)
        if indicator is None:
            values = _year_from_header(values)
        if level in COMMUNE_CODED_LEVELS:
            # the portals' pseudo-codes of the COM without a bassin de vie (977ZZ, 978ZZ) aside
            _check_commune_codes(values if level is None else values.filter(~pl.col("codgeo").str.contains(r"^[0-9]{3}ZZ$")), where)
        frames.append(
            values.with_columns(
                NIVGEO=pl.lit(level or f"com{vintage}"),
                FILE_NAME=pl.lit(path.name),
                FILE_SHA256=pl.lit(hashlib.sha256(data).hexdigest()),
            ).select(COLUMNS)
        )
    if not frames:
        names = ", ".join(p.name for p in files) or "no file"
        raise IncompleteVintage(f"{source} {vintage}: no <dataset>__<indicator>.csv among the snapshot files ({names})")
    return {"values": (pl.concat(frames, how="vertical"), csv_files[0])}


def pair_of(path: Path, where: str) -> tuple[str, str | None]:
    """(dataset, indicator) from a file name <dataset>__<indicator>.csv; (dataset, None) for
    <dataset>.csv, a wide export of several indicators."""
    parts = path.name[: -len(".csv")].split("__")
    if len(parts) == 1 and parts[0]:
        return parts[0], None
    if len(parts) != 2 or not all(parts):
        raise ParseError(
            f"{where}: the file name does not say which indicator it holds; name it <dataset>__<indicator>.csv "
            "(or <dataset>.csv for a wide export of several indicators)"
        )
    return parts[0], parts[1]


def export_level(data: bytes, where: str) -> str | None:
    """The level a Geoclip export's title lines name (None: communes, or no title said)."""
    text = data[:4096].decode("utf-8-sig", errors="replace")
    for line in text.splitlines()[:MAX_TITLE_LINES]:
        plain = plain_text(line.split(";", 1)[0])
        if plain.split(" ", 1)[0] in CODE_HEADERS:
            break  # the header: no title said
        if "referentiel geographique" in plain or plain.startswith(("france par", "niveau geographique")):
            said = _singular(plain.split(":", 1)[-1])  # "unités urbaines" as "unite urbaine"
            matches = [title for title in LEVEL_TITLES if re.search(rf"\b{re.escape(title)}\b", said)]
            if not matches:
                raise ParseError(f"{where}: the export is at a level territoires does not know ({line.strip()[:80]!r})")
            return LEVEL_TITLES[max(matches, key=len)]
    return None



def _singular(text: str) -> str:
    return " ".join(word.removesuffix("s") for word in text.split())


def _year_from_header(values: pl.DataFrame) -> pl.DataFrame:
    """A wide export's trailing year ('Taux de pauvreté 2021') as ``an`` when the file has no year column."""
    year = pl.col("INDIC").str.extract(r"\s((?:19|20)[0-9]{2})\s*$", 1)
    return values.with_columns(pl.coalesce(pl.col("an"), year).alias("an"))


def parse_export(data: bytes, where: str) -> pl.DataFrame:
    """A Geoclip CSV export as text columns, from its header line (title lines above it skipped)."""
    if not data.strip():
        raise ParseError(f"{where}: the file is empty")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError(
            f"{where}: cannot be decoded as utf-8 (byte {exc.start}); the publisher may have changed the encoding"
        ) from None
    lines = text.splitlines(keepends=True)
    first_fields = [line.split(";", 1)[0].strip().strip('"').lower() for line in lines[: MAX_TITLE_LINES + 1]]
    header = next((i for i, field in enumerate(first_fields) if field in CODE_HEADERS), None)
    if header is None:
        raise ParseError(
            f"{where}: no header line starting with codgeo in the first {MAX_TITLE_LINES + 1} lines; "
            "is this the CSV export of the API (format=csv)? The xlsx export is not read"
        )
    frame = read_csv_text("".join(lines[header:]).encode("utf-8"), where, separator=";")
    if frame.height == 0:
        raise ParseError(f"{where}: the file has a header but no data rows")
    return frame


def stack_values(frame: pl.DataFrame, where: str, dataset: str, indicator: str | None = None) -> pl.DataFrame:
    """One row per territory, indicator and dimension value: DATASET, INDIC, codgeo, libgeo, an,
    DIMENSIONS, VALEUR. With ``indicator``, the file holds that one indicator and any column
    other than the code, label and year is a dimension; without it, every other column is an
    indicator (the wide exports of other Geoclip portals)."""
    code, label = _column(frame, CODE_HEADERS), _column(frame, LABEL_HEADERS)
    if code is None or label is None:
        missing = "codgeo" if code is None else "libgeo"
        raise ParseError(f"{where}: column {missing} is missing (columns: {', '.join(frame.columns)})")
    year = YEAR_HEADER if YEAR_HEADER in frame.columns else None
    fixed = [c for c in (code, label, year) if c]
    if indicator is None:
        value_columns, dimensions = [c for c in frame.columns if c not in fixed], []
    else:
        found = _column(frame, (indicator.lower(),))
        if found is None:
            raise ParseError(
                f"{where}: column {indicator} (the indicator named by the file name) is missing "
                f"(columns: {', '.join(frame.columns)})"
            )
        value_columns, dimensions = [found], [c for c in frame.columns if c not in (*fixed, found)]
    long = frame.unpivot(on=value_columns, index=[*fixed, *dimensions], variable_name="INDIC", value_name="VALEUR")
    described = (
        pl.concat_str([pl.lit(f"{d}=") + pl.col(d).fill_null("") for d in sorted(dimensions)], separator=";")
        if dimensions
        else pl.lit(None, pl.Utf8)
    )
    return long.select(
        pl.lit(dataset).alias("DATASET"),
        pl.col("INDIC"),
        pl.col(code).alias("codgeo"),
        pl.col(label).alias("libgeo"),
        (pl.col(year) if year else pl.lit(None, pl.Utf8)).alias("an"),
        described.alias("DIMENSIONS"),
        pl.col("VALEUR").str.strip_chars(),
    )


def _column(frame: pl.DataFrame, names: tuple[str, ...]) -> str | None:
    """The first column whose name, lower-cased and trimmed, is one of names."""
    return next((c for c in frame.columns if c.strip().lower() in names), None)


def _check_commune_codes(values: pl.DataFrame, where: str) -> None:
    """Refuse a file whose codgeo are not commune codes, naming that file (the stacked frame's
    validation could only name the first file of the vintage)."""
    bad = values.filter(~pl.col("codgeo").fill_null("").str.contains(COMMUNE_CODE_REGEX))["codgeo"]
    if bad.len():
        examples = ", ".join(repr(v) for v in bad.unique(maintain_order=True).head(5).to_list())
        hint = " (leading zeros lost?)" if bad.str.contains(r"^[0-9]{1,4}$").any() else ""
        raise ParseError(
            f"{where}: column codgeo: {bad.len()} values are not 5-character commune codes, e.g. {examples}{hint}"
        )
