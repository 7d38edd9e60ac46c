"""SNCF "Liste des gares": every station of the national rail network, a `;` CSV in UTF-8.

The header is that of the SNCF open-data export with labels (CODE_UIC, LIBELLE, FRET,
VOYAGEURS, CODE_LIGNE, …); the export with field names has the same names in lower case,
so names are compared in upper case (spaces as underscores: "Geo Point" is GEO_POINT).
Stations carry the NAME of their commune (COMMUNE, upper case) and of their département
(DEPARTEMEN), not codes: they are matched to commune codes later, in the intermediate
models. Codes are checked here because validation only knows commune codes: CODE_UIC has
8 digits and CODE_LIGNE 6 (e.g. 001000), so a file saved by a spreadsheet that dropped
leading zeros is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from pipelines.sources.catalogue import get_source
from pipelines.sources.readers.common import IncompleteVintage, ParseError, describe, read_bytes, read_csv_text

SOURCE = "sncf_stations"
CODE_FORMATS = {"CODE_UIC": (r"^[0-9]{8}$", "8 digits"), "CODE_LIGNE": (r"^[0-9]{6}$", "6 digits")}


def read(files: Sequence[Path], vintage: str, source: str = SOURCE) -> dict[str, tuple[pl.DataFrame, Path]]:
    """The stations of the newest station-list CSV of the vintage."""
    for path in files:
        if path.name.lower().endswith(".csv"):
            return {"stations": (read_stations(path, describe(source, vintage, path), source), path)}
    names = ", ".join(p.name for p in files) or "no file"
    raise IncompleteVintage(f"{source} {vintage}: no station list CSV among the snapshot files ({names})")


def read_stations(path: Path, where: str, source: str = SOURCE) -> pl.DataFrame:
    """The declared columns of the station list (absent optional ones left out), all text."""
    frame = read_csv_text(read_bytes(path), where, separator=";")
    if frame.width == 1:
        raise ParseError(f"{where}: only one column ({frame.columns[0]!r}); the file should be separated by ';'")
    names = {c: c.strip().upper().replace(" ", "_") for c in frame.columns}
    repeated = sorted({n for n in names.values() if list(names.values()).count(n) > 1})
    if repeated:
        raise ParseError(f"{where}: column {', '.join(repeated)} appears more than once (names compared in upper case)")
    frame = frame.rename(names)
    spec = get_source(source).entities["stations"]
    missing = [c for c in spec["columns"] if c not in frame.columns]
    if missing:
        # Said here, not left to validation, because only the declared columns are kept below.
        raise ParseError(
            f"{where}: column {', '.join(missing)} is missing (columns found: {', '.join(frame.columns)}); "
            "was a column renamed?"
        )
    for column, (pattern, expected) in CODE_FORMATS.items():
        if column not in frame.columns:
            continue
        wrong = frame.filter(pl.col(column).is_not_null() & ~pl.col(column).str.contains(pattern))[column]
        if wrong.len():
            examples = ", ".join(repr(v) for v in wrong.unique(maintain_order=True).head(5).to_list())
            raise ParseError(
                f"{where}: {wrong.len()} value(s) of {column} do not have {expected} ({examples}); "
                "leading zeros may have been lost when the file was saved by a spreadsheet"
            )
    declared = [*spec["columns"], *spec.get("optional", [])]
    return frame.select([c for c in declared if c in frame.columns])
