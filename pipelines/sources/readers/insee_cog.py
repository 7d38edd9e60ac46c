"""INSEE Code officiel géographique: v_commune_<year>.csv and v_mvt_commune_<year>.csv."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from pipelines.sources.readers.common import IncompleteVintage, describe, read_bytes, read_csv_text

SOURCE = "insee_cog"


def _entity_of(path: Path) -> str | None:
    name = path.name.lower()
    if name.startswith("v_mvt_commune"):
        return "movements"
    if name.startswith("v_commune") and "depuis" not in name:
        return "communes"
    return None


def read(files: Sequence[Path], vintage: str, source: str = SOURCE) -> dict[str, tuple[pl.DataFrame, Path]]:
    """Entity frames of one vintage, each with its file: communes and movements (newest first wins)."""
    frames: dict[str, tuple[pl.DataFrame, Path]] = {}
    for path in files:
        entity = _entity_of(path)
        if entity is None or entity in frames:
            continue
        frames[entity] = (read_csv_text(read_bytes(path), describe(source, vintage, path)), path)
    if "communes" not in frames:
        names = ", ".join(p.name for p in files) or "no file"
        raise IncompleteVintage(f"{source} {vintage}: no v_commune_<year>.csv among the snapshot files ({names})")
    return frames
