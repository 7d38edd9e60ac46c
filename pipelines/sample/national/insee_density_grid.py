"""INSEE density grid workbooks for the national territory.

Both vintages of :mod:`pipelines.sample.insee_density_grid`, each in its own layout, on
the communes actuelles of geography 2025 (Paris, Lyon and Marseille whole; about 34,700
rows at scale 1):

* 2022, grille_densite_7_niveaux_2022.xlsx: sheet Grille_Densite (then Documentation),
  DENS the 7-level grid, PMUN19, shares P1…P7;
* 2025, fichier_diffusion_2025.xlsx: sheet Maille communale, DENS the 3-level grid, PMUN22,
  shares P1…P3, DENS_AAV (4 levels), DENS7 the 7-level grid.

The 7-level grid is the territory's density level in both (most communes are rural: about
a quarter at each of levels 5 and 7, a third at level 6); the population is the commune's
municipal population. A grand centre urbain has all its people in its own level; any
other commune 55–100 % (uniform), the rest in the next level (the previous one for the
last). A rural commune of an EPCI with an urban centre (level 1 or 2) is rural périurbain
in the 4-level grid.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.sample.insee_density_grid import (
    DOCUMENTATION,
    FILES,
    FOUR_LEVEL_LABELS,
    GEOGRAPHY,
    LEVEL_LABELS,
    MODIFIED,
    REVISED_HEADER,
    REVISED_LABELS_ROW,
    REVISED_TITLES,
    SEVEN_LEVEL_HEADER,
    SEVEN_LEVEL_LABELS_ROW,
    SEVEN_LEVEL_TITLES,
    THREE_LEVEL_LABELS,
    three_levels,
)
from pipelines.sample.national._xlsx import Sheet, write_workbook
from pipelines.sample.national.common import vintage_dir
from pipelines.sample.national.territory import NationalTerritory

SOURCE = "insee_density_grid"
OWN_LEVEL_SHARE = (55, 100)  # % of the people of a commune (not a grand centre urbain) living in its own level


def write(territory: NationalTerritory, con: duckdb.DuckDBPyConnection, dest: Path) -> list[str]:
    """Write the 2022 (7-level layout) and 2025 (revised layout) workbooks; returns their vintages."""
    sheets = {
        "2022": [
            Sheet("Grille_Densite", [*[(t,) for t in SEVEN_LEVEL_TITLES], SEVEN_LEVEL_LABELS_ROW, SEVEN_LEVEL_HEADER],
                  seven_level_query(), "CODGEO"),
            Sheet("Documentation", [(line,) for line in DOCUMENTATION]),
        ],
        "2025": [
            Sheet("Maille communale", [*[(t,) for t in REVISED_TITLES], REVISED_LABELS_ROW, REVISED_HEADER],
                  revised_query(), "CODGEO"),
        ],
    }  # fmt: skip
    for vintage, book in sheets.items():
        path = vintage_dir(dest, SOURCE, vintage) / FILES[vintage]
        write_workbook(con, path, book, creator="INSEE", modified=MODIFIED[vintage])
    return list(sheets)


def seven_level_query() -> str:
    """CODGEO, LIBGEO, DENS (7 levels), LIBDENS, PMUN19, P1…P7."""
    return f"""
        select code as CODGEO, libelle as LIBGEO, density_level as DENS,
               {_label("density_level", LEVEL_LABELS)} as LIBDENS, population as PMUN19,
               {_shares("density_level", 7)}
        from {_communes()}
    """


def revised_query() -> str:
    """CODGEO, LIBGEO, DENS (3 levels), LIBDENS, PMUN22, P1…P3, DENS_AAV, LIBDENS_AAV, DENS7, LIBDENS7."""
    three = " ".join(f"when {level} then {three_levels(level)}" for level in LEVEL_LABELS)
    return f"""
        with graded as (
            select *, case density_level {three} end as three,
                   bool_or(density_level <= 2) over (partition by epci) as urban_epci
            from {_communes()}
        ), four as (
            select *, case when three < 3 then three when urban_epci then 3 else 4 end as four from graded
        )
        select code as CODGEO, libelle as LIBGEO, three as DENS, {_label("three", THREE_LEVEL_LABELS)} as LIBDENS,
               population as PMUN22, {_shares("three", 3)}, four as DENS_AAV,
               {_label("four", FOUR_LEVEL_LABELS)} as LIBDENS_AAV, density_level as DENS7,
               {_label("density_level", LEVEL_LABELS)} as LIBDENS7
        from four
    """


def _communes() -> str:
    return f"(select * from actuelles where vintage = '{GEOGRAPHY}')"


def _label(column: str, labels: dict[int, str]) -> str:
    cases = " ".join(f"when {level} then '{label.replace(chr(39), chr(39) * 2)}'" for level, label in labels.items())
    return f"case {column} {cases} end"


def _shares(level: str, count: int) -> str:
    """P1…P<count>: the share (%) of the people in each level, most in the commune's own."""
    low, high = OWN_LEVEL_SHARE
    own = f"if({level} = 1, 100, round({low} + {high - low} * rnd(code, 'density-share'), 2))"
    neighbour = f"if({level} < {count}, {level} + 1, {level} - 1)"
    return ", ".join(
        f"case {n} when {level} then {own} when {neighbour} then round(100 - {own}, 2) else 0 end as P{n}"
        for n in range(1, count + 1)
    )
