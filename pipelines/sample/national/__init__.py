"""A fictitious France at national size, in the official layouts, for benchmarks.

`territoires sample --scale national --out DIR` writes, deterministically, the files of
every source the bundled sample has (same vintages, same file names, same layouts the
readers accept) for a generated territory of about 35,000 communes (`territory.py`), laid
out as a mirror (`<source>/<vintage>/<file name>`): `TERRITOIRES_MIRROR=DIR territoires
build` ingests it through the real fetch path. `--scale 0.25` writes a quarter of it.

Each module of this package but `territory`, `facts` and `common` writes one source: it
defines `SOURCE` and `write(territory, con, dest) -> [vintages written]`, `con` being an
in-memory DuckDB holding the territory's tables (see NationalTerritory.connect). The large
files (BPE points, the Sirene stock, GTFS stop times) are written by DuckDB straight to
disk, so memory stays bounded whatever the scale.
"""

from __future__ import annotations

import importlib
import pkgutil
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

from pipelines.sample.national.territory import DEFAULT_SEED, NationalTerritory, build_national_territory, scale_of

Writer = Callable[[NationalTerritory, duckdb.DuckDBPyConnection, Path], list[str]]
_NOT_WRITERS = {"territory", "facts", "common"}


def national_writers() -> dict[str, Writer]:
    """Every national writer, by source id."""
    writers: dict[str, Writer] = {}
    for module in pkgutil.iter_modules(__path__):
        if module.name in _NOT_WRITERS or module.name.startswith("_"):
            continue
        loaded = importlib.import_module(f"{__name__}.{module.name}")
        writers[loaded.SOURCE] = loaded.write
    return dict(sorted(writers.items()))


def write_national(
    dest: Path,
    scale: float = 1.0,
    seed: int = DEFAULT_SEED,
    *,
    sources: list[str] | None = None,
    on_source: Callable[[str, list[str], float], None] = lambda source, vintages, seconds: None,
) -> dict[str, list[str]]:
    """Write the national sample under dest as a mirror tree; returns {source: [vintages]}."""
    territory = build_national_territory(scale, seed)
    writers = national_writers()
    unknown = sorted(set(sources or ()) - set(writers))
    if unknown:
        raise ValueError(f"no national sample writer for {', '.join(unknown)}; known: {', '.join(writers)}")
    written: dict[str, list[str]] = {}
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    with territory.connect() as con:
        for source, write in writers.items():
            if sources and source not in sources:
                continue
            started = time.monotonic()
            written[source] = write(territory, con, dest)
            on_source(source, written[source], time.monotonic() - started)
    return written


__all__ = ["DEFAULT_SEED", "NationalTerritory", "build_national_territory", "national_writers", "scale_of", "write_national"]
