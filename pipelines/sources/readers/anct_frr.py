"""France Ruralités Revitalisation: the `;` list of communes and their FRR classification.

The classification column's header carries the date of the list ("Classement FRR et FRR+
au 10 juillet 2025"), so each new list would bring a new column name: the reader hands it
over as :data:`CLASSIFICATION` and keeps the date of the header, as YYYY-MM-DD, in
:data:`LIST_DATE`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from pipelines.sources.readers.common import IncompleteVintage, ParseError, describe, read_bytes, read_csv_text

SOURCE = "anct_frr"
CLASSIFICATION = "Classement FRR et FRR+"
LIST_DATE = "Date du classement"
MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
          "novembre", "décembre")  # fmt: skip


def read(files: Sequence[Path], vintage: str, source: str = SOURCE) -> dict[str, tuple[pl.DataFrame, Path]]:
    """The communes of the newest CSV of the vintage: {"communes": (frame, file)}."""
    lists = [p for p in files if p.name.lower().endswith(".csv")]
    if not lists:
        names = ", ".join(p.name for p in files) or "no file"
        raise IncompleteVintage(f"{source} {vintage}: no FRR list (.csv) among the snapshot files ({names})")
    path = lists[0]
    where = describe(source, vintage, path)
    frame = read_csv_text(read_bytes(path), where, separator=";")
    # Every line ends with ';': polars sees one more, unnamed and empty, column.
    frame = frame.drop([c for c in frame.columns if not c.strip() and frame[c].is_null().all()])
    return {"communes": (_name_classification(frame, where), path)}


def _name_classification(frame: pl.DataFrame, where: str) -> pl.DataFrame:
    """Rename the dated classification column and keep its date in a column of its own."""
    found = [c for c in frame.columns if c.strip().casefold().startswith("classement frr")]
    if len(found) != 1:
        shown = ", ".join(frame.columns)
        problem = "no column" if not found else f"{len(found)} columns"
        raise ParseError(
            f"{where}: {problem} named 'Classement FRR et FRR+ au <date>' (columns: {shown}); "
            "the classification column was renamed or the layout has changed"
        )
    header = found[0]
    return frame.rename({header: CLASSIFICATION}).with_columns(pl.lit(list_date(header), pl.Utf8).alias(LIST_DATE))


def list_date(header: str) -> str | None:
    """The date of a header such as '… au 10 juillet 2025' as '2025-07-10', or None."""
    match = re.search(r"\bau\s+(1er|\d{1,2})\s+(\w+)\s+(\d{4})\b", header.casefold())
    if not match or match.group(2) not in MONTHS:
        return None
    day = 1 if match.group(1) == "1er" else int(match.group(1))
    return f"{match.group(3)}-{MONTHS.index(match.group(2)) + 1:02d}-{day:02d}"
