"""Readers turn the raw files of one source vintage into entity frames (all text columns).

A reader never types or renames: that is dbt staging's job. It only finds the right
file, decodes it, and hands back polars frames whose columns are the publisher's.

Each module of this package is the reader of the same name (the catalogue's `reader:`)
and defines `read(files, vintage) -> {entity: (frame, file it came from)}`, files being
the vintage's current snapshots, newest first.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path

import polars as pl

from pipelines.sources.readers.common import IncompleteVintage, ParseError

Reader = Callable[[Sequence[Path], str], dict[str, tuple[pl.DataFrame, Path]]]


@cache
def readers() -> dict[str, Reader]:
    """Every reader module of this package, by name."""
    found = {}
    for module in pkgutil.iter_modules(__path__):
        if module.name == "common":
            continue
        found[module.name] = importlib.import_module(f"{__name__}.{module.name}").read
    return found


def reader_notes(name: str, frames: dict) -> list[str]:
    """What a reader wants said about a vintage it read (its module's optional `notes(frames)`)."""
    module = importlib.import_module(f"{__name__}.{name}")
    notes = getattr(module, "notes", None)
    return list(notes({entity: (frame, snap.path) for entity, (frame, snap) in frames.items()})) if notes else []


def get_reader(name: str) -> Reader:
    """The reader registered under that name (the catalogue's `reader:`)."""
    try:
        return readers()[name]
    except KeyError:
        raise ParseError(f"no reader named '{name}'; known readers: {', '.join(sorted(readers()))}") from None


__all__ = ["IncompleteVintage", "ParseError", "Reader", "get_reader", "reader_notes", "readers"]
