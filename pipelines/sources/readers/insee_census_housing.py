"""INSEE census, housing per commune: base-cc-logement-<year> (latin-1, about 265 columns).

Read like the age base (see insee_census_age): only the census-year columns needed, handed
over without their year prefix (P21_RP_VOIT1P → RP_VOIT1P), with CENSUS_YEAR.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from pipelines.sources.readers.insee_census_age import read_census_table

SOURCE = "insee_census_housing"
FILE_STEM = "base-cc-logement-"
REQUIRED_COLUMNS = ("RP", "RP_VOIT1P")
# MEN (households) is read when the file has it; otherwise RP stands for it (one household per main residence).
OPTIONAL_COLUMNS = ("MEN", "LOG", "RP_VOIT1", "RP_VOIT2P")


def read(files: Sequence[Path], vintage: str, source: str = SOURCE) -> dict[str, tuple[pl.DataFrame, Path]]:
    """The communes entity of one census year: CODGEO, CENSUS_YEAR, main residences, households, cars."""
    return {"communes": read_census_table(files, vintage, source, FILE_STEM, REQUIRED_COLUMNS, OPTIONAL_COLUMNS)}
