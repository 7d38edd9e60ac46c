"""ANCT Action cœur de ville (ACV) and Petites villes de demain (PVD): the communes of each programme.

A vintage holds one file per programme it covers, in one of three layouts:

* the ANCT map of ACV (``coeurdeville.js``): a JavaScript assignment of a GeoJSON
  FeatureCollection (``var JS_coeurdeville = {…}``), or the same GeoJSON alone; its insee_com
  is mostly a JSON number, which cannot carry a leading zero: a code of one to four digits is
  padded to five (1004 → 01004);
* the first PVD list of the ANCT map (``pvd_carte-interactive_20200122.csv``): quoted CSV
  written by R (NA for a missing value), with a test row (insee_com 999999) left out;
* the data.gouv.fr lists (``liste-acv-com<COG>-….csv``, ``liste-pvd-com<COG>-….csv``).

Only :data:`KEPT` columns are read (the first PVD list also names the mayors, with the town
hall's e-mail: those columns are never parsed). Each row gets ``programme`` (acv or pvd), from
the identifier column the file has; all files' rows come out as one entity.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from pipelines.sources.readers.anct_qpv import feature_properties, load_features
from pipelines.sources.readers.common import (
    IncompleteVintage,
    ParseError,
    describe,
    read_bytes,
    sniff_separator,
)

SOURCE = "anct_centres"
PROGRAMME = "programme"
# Identifier column → programme.
PROGRAMMES = {"id_acv": "acv", "id_pvd": "pvd"}
KEPT = ("insee_com", "id_acv", "id_pvd", "lib_com", "siren_epci", "pop", "date_signature")
REQUIRED = ("insee_com", "lib_com")
# The test row of the first PVD list ("Trifouilly-les-Oies"), which is no commune.
PLACEHOLDER_CODES = ("999999",)
MAP_SUFFIXES = (".js", ".geojson", ".json")
# `var NAME = ` (or let / const) before the object of a JavaScript data file.
JS_ASSIGNMENT = re.compile(r"^\s*(?:var|let|const)\s+[A-Za-z_$][\w$]*\s*=\s*")


def read(files: Sequence[Path], vintage: str, source: str = SOURCE) -> dict[str, tuple[pl.DataFrame, Path]]:
    """The communes of every programme list of the vintage: {"communes": (frame, newest file)}."""
    lists = [p for p in files if p.name.lower().endswith((".csv", *MAP_SUFFIXES))]
    if not lists:
        names = ", ".join(p.name for p in files) or "no file"
        raise IncompleteVintage(
            f"{source} {vintage}: no programme list (.csv, .js or .geojson) among the snapshot files ({names})"
        )
    frames = []
    for path in lists:
        where = describe(source, vintage, path)
        read_layout = _read_map if path.name.lower().endswith(MAP_SUFFIXES) else _read_list
        frames.append(read_layout(read_bytes(path), where))
    # An entity has one file in the raw loads: the newest; each list is checked on its own above.
    return {"communes": (pl.concat(frames, how="diagonal"), lists[0])}


def _read_list(data: bytes, where: str) -> pl.DataFrame:
    """A CSV list: its kept columns only, as text, and the programme its identifier column says."""
    if not data.strip():
        raise ParseError(f"{where}: the file is empty")
    try:
        text = data.decode("utf-8").lstrip("\ufeff")
    except UnicodeDecodeError as exc:
        raise ParseError(
            f"{where}: cannot be decoded as utf-8 (byte {exc.start}); the publisher may have changed the encoding"
        ) from None
    separator = sniff_separator(data)
    try:
        header = pl.read_csv(io.StringIO(text), separator=separator, infer_schema=False, n_rows=0).columns
        wanted = [c for c in KEPT if c in header]
        _check_columns(header, wanted, where)
        # R writes NA for a missing value; the columns not kept (mayors, e-mails) are never parsed.
        frame = pl.read_csv(
            io.StringIO(text), separator=separator, infer_schema=False, columns=wanted, null_values=["NA"]
        )
    except pl.exceptions.PolarsError as exc:
        raise ParseError(f"{where}: not a readable '{separator}'-separated file ({_first_line(exc)})") from None
    frame = frame.filter(~pl.all_horizontal(pl.all().is_null()))
    frame = frame.filter(pl.col("insee_com").is_null() | ~pl.col("insee_com").str.strip_chars().is_in(PLACEHOLDER_CODES))
    return frame.with_columns(pl.lit(_programme(wanted), pl.Utf8).alias(PROGRAMME))


def _read_map(data: bytes, where: str) -> pl.DataFrame:
    """The ACV map: the kept properties of its points, codes that lost their leading zero padded."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError(f"{where}: not valid UTF-8 text (byte {exc.start}); is the file complete?") from None
    # The JSON object assigned by the script: everything after `var NAME =`, without the final `;`.
    document = JS_ASSIGNMENT.sub("", text, count=1).rstrip().removesuffix(";")
    properties = feature_properties(load_features(document.encode("utf-8"), where), where)
    wanted = [c for c in KEPT if c in properties.columns]
    _check_columns(properties.columns, wanted, where)
    not_text = [c for c in wanted if properties.schema[c] != pl.Utf8]
    if not_text:
        raise ParseError(f"{where}: property {', '.join(not_text)} is not a text or a number (a list or an object)")
    code = pl.col("insee_com").str.strip_chars()
    return properties.select(wanted).with_columns(
        pl.when(code.str.contains(r"^[0-9]{1,4}$")).then(code.str.zfill(5)).otherwise(pl.col("insee_com")).alias("insee_com"),
        pl.lit(_programme(wanted), pl.Utf8).alias(PROGRAMME),
    )


def _check_columns(present: Sequence[str], wanted: Sequence[str], where: str) -> None:
    """A ParseError naming the columns a list lacks: insee_com, lib_com and one identifier column."""
    missing = [c for c in REQUIRED if c not in wanted]
    identifiers = [c for c in PROGRAMMES if c in wanted]
    if not identifiers:
        missing.append(" or ".join(PROGRAMMES))
    if len(identifiers) > 1:
        raise ParseError(f"{where}: the list has both id_acv and id_pvd; which programme is it?")
    if missing:
        shown = ", ".join(present[:30]) or "no column"
        raise ParseError(
            f"{where}: column {', '.join(missing)} is missing from the programme list (the file has: {shown}); "
            "was it renamed?"
        )


def _programme(columns: Sequence[str]) -> str:
    return next(PROGRAMMES[c] for c in PROGRAMMES if c in columns)


def _first_line(exc: Exception) -> str:
    message = str(exc).strip()
    return message.splitlines()[0] if message else type(exc).__name__
