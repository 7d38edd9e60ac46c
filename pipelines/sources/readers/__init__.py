"""Readers turn the raw files of one source vintage into entity frames (all text columns).

A reader never types or renames: that is dbt staging's job. It only finds the right
file, decodes it, and hands back polars frames whose columns are the publisher's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import polars as pl

from pipelines.sources.readers import etalab_decoupage, insee_cog
from pipelines.sources.readers.common import IncompleteVintage, ParseError

# (snapshot files newest first, vintage) -> {entity: (frame, file it came from)}
Reader = Callable[[Sequence[Path], str], dict[str, tuple[pl.DataFrame, Path]]]

READERS: dict[str, Reader] = {
    "etalab_decoupage": etalab_decoupage.read,
    "insee_cog": insee_cog.read,
}


def get_reader(name: str) -> Reader:
    """The reader registered under that name (the catalogue's `reader:`)."""
    try:
        return READERS[name]
    except KeyError:
        raise ParseError(f"no reader named '{name}'; known readers: {', '.join(sorted(READERS))}") from None


__all__ = ["READERS", "IncompleteVintage", "ParseError", "Reader", "get_reader"]
