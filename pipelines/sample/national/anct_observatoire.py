"""The Observatoire des territoires CSV exports for the national territory.

The three files of :mod:`pipelines.sample.anct_observatoire` (``<dataset>__<indicator>.csv``,
``;``-separated UTF-8), one row per commune actuelle of geography 2025 (Paris, Lyon and
Marseille whole; about 34,700 rows a file at scale 1), by code:

* frr/codefrr: 2 for the FRR+ communes of the national FRR list, 1 for FRR socle and the
  communes partly classified, -9999 for the others (about half the communes);
* acces_soin/part_pop_eloigne_soin: share (%) of the people more than 20 minutes from a
  local health service, uniform in the sample's range for the commune's density level
  (0–2 % in grands centres urbains to 40–100 % in very sparse villages);
* pers_agees/txhebergts75p: accommodation rate of the 75+, uniform in 40–160, secret
  (-9999) in the communes under 300 inhabitants (about a third).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.sample.anct_observatoire import NOT_A_VALUE, PAIRS, SECRET_BELOW, SHARE_RANGES, VINTAGE, YEARS
from pipelines.sample.national.common import copy_lines
from pipelines.sample.national.anct_frr import frr_query
from pipelines.sample.national.common import vintage_dir
from pipelines.sample.national.territory import NationalTerritory

SOURCE = "anct_observatoire"
FRR_CLASSES = {"FRR+": 2, "FRR socle": 1, "Classée FRR partiellement": 1}
ACCOMMODATION_RATE = (40, 160)


def write(territory: NationalTerritory, con: duckdb.DuckDBPyConnection, dest: Path) -> list[str]:
    """Write <dataset>__<indicator>.csv for every pair of the 2025 vintage; returns ["2025"]."""
    folder = vintage_dir(dest, SOURCE, VINTAGE)
    for dataset, indicator in PAIRS:
        year = YEARS[indicator]
        header = ";".join(["codgeo", "libgeo", *(["an"] if year else []), indicator])
        cells = ["code", "libelle", *([f"'{year}'"] if year else []), "value"]
        lines = f"""
            select line from (
                select '' as code, '{header}' as line
                union all
                select code, concat_ws(';', {', '.join(cells)}) from ({values_query(indicator)})
            ) order by code
        """
        copy_lines(con, lines, folder / f"{dataset}__{indicator}.csv")
    return [VINTAGE]


def values_query(indicator: str) -> str:
    """code, libelle and the published text of one indicator for every commune of geography 2025."""
    if indicator == "codefrr":
        classes = " ".join(f"when '{label}' then '{value}'" for label, value in FRR_CLASSES.items())
        return f"select code, libelle, case label {classes} else '{NOT_A_VALUE}' end as value from ({frr_query()})"
    if indicator == "part_pop_eloigne_soin":
        low = " ".join(f"when {level} then {low}" for level, (low, _) in SHARE_RANGES.items())
        width = " ".join(f"when {level} then {high - low}" for level, (low, high) in SHARE_RANGES.items())
        draw = f"(case density_level {low} end) + (case density_level {width} end) * rnd(code, 'eloigne-soin')"
        return f"select code, libelle, printf('%.1f', {draw}) as value from {_communes()}"
    low, high = ACCOMMODATION_RATE
    rate = f"printf('%.1f', {low} + {high - low} * rnd(code, 'hebergement-75'))"
    return f"select code, libelle, if(population < {SECRET_BELOW}, '{NOT_A_VALUE}', {rate}) as value from {_communes()}"


def _communes() -> str:
    return f"(select * from actuelles where vintage = '{VINTAGE}')"
