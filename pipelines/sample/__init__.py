"""Deterministic sample files, in the exact official formats, for a small fictitious territory.

`territory` builds the territory and writes the geography sources; every other module of
this package writes one source's files and defines `SOURCE` (the source id) and
`write(territory, dest) -> [vintages written]`. `write_sample` runs them all.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from pathlib import Path

from pipelines.sample.territory import (
    DEFAULT_SEED,
    GEOGRAPHY_WRITERS,
    SAMPLE_GEOGRAPHY_VINTAGES,
    SAMPLE_NOTICE,
    V_COMMUNE_HEADER,
    V_MVT_COMMUNE_HEADER,
    Territory,
    build_territory,
)

Writer = Callable[[Territory, Path], list[str]]


def sample_writers() -> dict[str, Writer]:
    """Every sample writer, by source id: the geography ones, then one per module here."""
    writers: dict[str, Writer] = dict(GEOGRAPHY_WRITERS)
    for module in pkgutil.iter_modules(__path__):
        if module.name == "territory" or module.name.startswith("_") or module.ispkg:  # national/: the national sample
            continue
        loaded = importlib.import_module(f"{__name__}.{module.name}")
        writers[loaded.SOURCE] = loaded.write
    return writers


def write_sample(dest: Path, seed: int = DEFAULT_SEED) -> dict[str, list[str]]:
    """Write every sample file as a mirror tree <dest>/<source>/<vintage>/<file name>.

    Returns {source: [vintages]} written. The bytes are identical on every call with the same
    seed: no timestamps, a fixed key order, fixed number formatting.
    """
    territory = build_territory(seed)
    return {source: writer(territory, Path(dest)) for source, writer in sample_writers().items()}


__all__ = [
    "DEFAULT_SEED",
    "SAMPLE_GEOGRAPHY_VINTAGES",
    "SAMPLE_NOTICE",
    "V_COMMUNE_HEADER",
    "V_MVT_COMMUNE_HEADER",
    "Territory",
    "build_territory",
    "sample_writers",
    "write_sample",
]
