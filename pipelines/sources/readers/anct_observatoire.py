"""Observatoire des territoires (ANCT): CSV exports of its Geoclip API, one indicator per file.

Each file is ``<dataset>__<indicator>.csv``, the answer of ``GC_API_download.php?…&format=csv``:
``;``-separated UTF-8 with the columns ``codgeo;libgeo``, sometimes ``an`` (year) and other
dimensions (e.g. ``sexe``), then the indicator. Other Geoclip portals (INSEE Statistiques
locales, CartoSanté) export the same way with title lines above a ``Code;Libellé;…`` header
and several indicators side by side: :func:`parse_export` and :func:`stack_values` read both.

Every file of a vintage is stacked into one ``values`` frame: DATASET, INDIC, NIVGEO (``com``
and the COG year, i.e. the vintage), codgeo, libgeo, an, DIMENSIONS (the other dimension
columns as ``name=value;…``), VALEUR (as published: ``-9999`` and ``N/A - …`` are kept for
staging to flag), FILE_NAME and FILE_SHA256 (the file each row came from).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from pipelines.quality import COMMUNE_CODE_REGEX
from pipelines.sources.readers.common import IncompleteVintage, ParseError, describe, read_bytes, read_csv_text

SOURCE = "anct_observatoire"
CODE_HEADERS = ("codgeo", "code")
LABEL_HEADERS = ("libgeo", "libellé", "libelle")
YEAR_HEADER = "an"
# Geoclip exports put at most a few title lines above the header.
MAX_TITLE_LINES = 5
COLUMNS = ("DATASET", "INDIC", "NIVGEO", "codgeo", "libgeo", "an", "DIMENSIONS", "VALEUR", "FILE_NAME", "FILE_SHA256")


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
        values = stack_values(parse_export(data, where), where, dataset, indicator)
        _check_commune_codes(values, where)
        frames.append(
            values.with_columns(
                NIVGEO=pl.lit(f"com{vintage}"),
                FILE_NAME=pl.lit(path.name),
                FILE_SHA256=pl.lit(hashlib.sha256(data).hexdigest()),
            ).select(COLUMNS)
        )
    if not frames:
        names = ", ".join(p.name for p in files) or "no file"
        raise IncompleteVintage(f"{source} {vintage}: no <dataset>__<indicator>.csv among the snapshot files ({names})")
    return {"values": (pl.concat(frames, how="vertical"), csv_files[0])}


def pair_of(path: Path, where: str) -> tuple[str, str]:
    """(dataset, indicator) from a file name <dataset>__<indicator>.csv."""
    parts = path.name[: -len(".csv")].split("__")
    if len(parts) != 2 or not all(parts):
        raise ParseError(
            f"{where}: the file name does not say which indicator it holds; name it <dataset>__<indicator>.csv"
        )
    return parts[0], parts[1]


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
