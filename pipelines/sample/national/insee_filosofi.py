"""Filosofi 2020 and 2021 (base communale) for the national territory.

The zips of :mod:`pipelines.sample.insee_filosofi` (cc_filosofi_<year>_COM.csv: `;`, the
same 29 columns with the year's digits), one row per commune actuelle of geography 2025
(Paris, Lyon and Marseille whole), by code: about 34,700 rows at scale 1, of which about
30,000 with values.

As in the bundled sample: households are the population over 2.2 persons (2.6 overseas);
a commune with fewer than 50 households or 100 persons is secret (every value withheld: "s"
in 2021, empty in 2020), and so is all of Mayotte, which Filosofi does not cover. The 2021
poverty rate follows the density level — highest in the dense cities (17 %), lowest in the
intermediate towns (11 %), rising again in the very sparse villages (15 %) — and is high
overseas (Guadeloupe 33 %, Martinique 28 %, Guyane 50 %, La Réunion 36 %), with a normal
spread of 3 points, floored at 5 %; the median standard of living is 22,500 € less 250 € per
point above 13 %, spread 600 €, rounded to 10 €; 2020 has rates 0.3 point higher and medians
2.5 % lower.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb

from pipelines.sample.insee_filosofi import (
    COLUMNS,
    DEFAULT_PERSONS_PER_HOUSEHOLD,
    FILES,
    FLOOR,
    GEOGRAPHY,
    MIN_HOUSEHOLDS,
    MIN_PERSONS,
    PREVIOUS_YEAR,
    WITHHELD,
)
from pipelines.sample.national.common import sql_text, vintage_dir, zip_members
from pipelines.sample.national.territory import NationalTerritory

SOURCE = "insee_filosofi"
OVERSEAS_PERSONS_PER_HOUSEHOLD = 2.6
NOT_COVERED = ("976",)
POVERTY_BY_DENSITY = {1: 17.0, 2: 12.0, 3: 11.0, 4: 11.5, 5: 12.5, 6: 13.5, 7: 15.0}
POVERTY_OVERSEAS = {"971": 33.0, "972": 28.0, "973": 50.0, "974": 36.0}
RATE_SPREAD, MEDIAN_SPREAD = 3.0, 600.0
EMPTY = "null"  # an empty cell (DuckDB writes an empty string as "")


def write(territory: NationalTerritory, con: duckdb.DuckDBPyConnection, dest: Path) -> list[str]:
    """Write the zips of 2020 and 2021; returns their vintages."""
    for year, file_name in FILES.items():
        with tempfile.TemporaryDirectory() as work:
            data = Path(work) / f"cc_filosofi_{year}_COM.csv"
            con.execute(f"copy ({commune_rows(year)}) to '{data}' (header, delimiter ';')")
            zip_members(vintage_dir(dest, SOURCE, year) / file_name, {data.name: data})
    return list(FILES)


def commune_rows(year: str) -> str:
    """SQL: the rows of cc_filosofi_<year>_COM.csv, columns named as INSEE's, every value as text, by code."""
    suffix = year[-2:]
    withheld = sql_text(WITHHELD[year]) if WITHHELD[year] else EMPTY
    cells = {
        "NBMENFISC": "cast(households as varchar)",
        "NBPERSMENFISC": _number("persons"),
        "MED": _number("median"),
        "PIMP": _number("round(50 - (rate - 13), 1)"),
        "TP60": _number("rate"),
        "D1": _number("round(median * 0.55, -1)"),
        "D9": _number("round(median * 1.75, -1)"),
        "RD": "'3.2'",
    }
    columns = ["code as CODGEO", "libelle as LIBGEO"] + [
        f"if(secret, {withheld}, {cells.get(name, EMPTY)}) as {name}{suffix}" for name in COLUMNS[2:]
    ]
    return f"""
        select {', '.join(columns)} from ({_values(year)}) order by code
    """


def _values(year: str) -> str:
    """SQL: code, libelle, households, persons, rate and median of the income year, and whether secret."""
    size = f"if(zone = 'drom', {OVERSEAS_PERSONS_PER_HOUSEHOLD}, {DEFAULT_PERSONS_PER_HOUSEHOLD})"
    density = " ".join(f"when {level} then {rate}" for level, rate in POVERTY_BY_DENSITY.items())
    overseas = " ".join(f"when '{code}' then {rate}" for code, rate in POVERTY_OVERSEAS.items())
    earlier = year != "2021"
    return f"""
        with sized as (
            select code, libelle, departement, density_level, round(population / {size}) as households, {size} as size
            from actuelles where vintage = '{GEOGRAPHY}'
        ), drawn as (
            select *, round(households * size * 2) / 2 as persons,
                coalesce(case departement {overseas} end, case density_level {density} end)
                    + {RATE_SPREAD} * rnd_normal(code, 'filosofi-rate') as base_rate
            from sized
        )
        select code, libelle, cast(households as bigint) as households, persons,
            round(greatest({FLOOR}, base_rate + {PREVIOUS_YEAR['rate'] if earlier else 0}), 1) as rate,
            round((22500 - 250 * (base_rate - 13) + {MEDIAN_SPREAD} * rnd_normal(code, 'filosofi-median'))
                  / {PREVIOUS_YEAR['median'] if earlier else 1}, -1) as median,
            households < {MIN_HOUSEHOLDS} or persons < {MIN_PERSONS}
                or departement in ({', '.join(sql_text(code) for code in NOT_COVERED)}) as secret
        from drawn
    """


def _number(expression: str) -> str:
    """SQL: a number as INSEE writes it, a point for decimals and no trailing .0."""
    return f"regexp_replace(printf('%.1f', {expression}), '\\.0$', '')"
