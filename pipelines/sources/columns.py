"""Column names across vintages: the catalogue's `aliases` of an entity.

Publishers rename columns between releases ("APL aux médecins généralistes de moins de
65 ans" became "... de 65 ans ou moins"). An entity of the catalogue may list, per column,
the other names it has been published under:

    aliases:
      APL aux médecins généralistes de moins de 65 ans:
        - APL aux médecins généralistes de 65 ans ou moins

After a reader has run, a column found under one of its aliases is renamed to the
catalogue's name, so every vintage loads into the same raw columns. A required column
found under none of its names stops the vintage with an error naming the file, the
column and every name it accepts.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from pipelines.sources.readers.common import ParseError


def accepted_names(spec: dict[str, Any], column: str) -> list[str]:
    """The catalogue's name of a column followed by its aliases, in the catalogue's order."""
    return [column, *[a for a in (spec.get("aliases") or {}).get(column, []) if a != column]]


def apply_aliases(frame: pl.DataFrame, spec: dict[str, Any], where: str) -> pl.DataFrame:
    """The frame with aliased columns renamed to the catalogue's names.

    `spec` is the catalogue entry of the entity; `where` names source, vintage and file.
    When a file carries several names of one column the first in the catalogue's order
    wins and the others are dropped, so no column is loaded twice.
    """
    aliases = spec.get("aliases") or {}
    required = list(spec.get("columns", []))
    present = set(frame.columns)
    renames: dict[str, str] = {}
    dropped: list[str] = []
    for column in dict.fromkeys([*required, *aliases]):
        names = accepted_names(spec, column)
        found = [n for n in names if n in present]
        if not found:
            if column in required and column in aliases:
                raise ParseError(
                    f"{where}: column '{column}' is missing; it is accepted under any of these names: "
                    + "; ".join(f"'{n}'" for n in names)
                    + f" (the file has: {', '.join(frame.columns[:40]) or 'no column'})"
                )
            continue
        if found[0] != column:
            renames[found[0]] = column
        dropped += found[1:]
    return frame.drop(dropped).rename(renames) if (renames or dropped) else frame
