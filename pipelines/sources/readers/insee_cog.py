"""INSEE Code officiel géographique: v_commune_<year>.csv and v_mvt_commune_<year>.csv.

The movements file was named v_mvtcommune_<year>.csv up to COG 2023 (no underscore between
"mvt" and "commune"): both names are read as the movements.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import re

import polars as pl

from pipelines.sources.readers.common import IncompleteVintage, describe, read_bytes, read_csv_text

SOURCE = "insee_cog"
MOVEMENTS_FILE = re.compile(r"^v_mvt_?commune")


def _entity_of(path: Path) -> str | None:
    name = path.name.lower()
    if MOVEMENTS_FILE.match(name):
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
