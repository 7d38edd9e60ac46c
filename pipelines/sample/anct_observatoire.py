"""Sample of anct_observatoire: the CSV exports of the catalogue's pairs for the 2025 communes.

Each file is what ``GC_API_download.php?type=stat&nivgeo=com2025&…&format=csv`` returns:
``;``-separated UTF-8, one row per commune (69123 as a whole, no arrondissements).

Story: villages (density level 5 to 7, under 3,500 inhabitants) are classified FRR (class 1,
or 2 for the very sparse ones), every other commune is -9999 (not classified); the share of
people more than 20 minutes from a local health service grows with sparseness and is highest
in the very sparse villages; the accommodation rate of the 75+ is secret (-9999) in communes
under 300 inhabitants.
"""

from __future__ import annotations

import random
from pathlib import Path

from pipelines.sample.territory import Commune, Territory

SOURCE = "anct_observatoire"
VINTAGE = "2025"
NOT_A_VALUE = "-9999"
# The catalogue's (dataset, indicator) pairs, and the year each export writes in its an column
# (None: the export has no an column).
PAIRS = ("frr", "codefrr"), ("acces_soin", "part_pop_eloigne_soin"), ("pers_agees", "txhebergts75p")
YEARS = {"codefrr": None, "part_pop_eloigne_soin": "2023", "txhebergts75p": "2021"}
SECRET_BELOW = 300
# Range of the share of people far from health services (%), by density level (1 dense … 7 very sparse).
SHARE_RANGES = {1: (0, 2), 2: (0, 5), 3: (1, 8), 4: (2, 15), 5: (5, 35), 6: (10, 55), 7: (40, 100)}


def frr_class(commune: Commune) -> str:
    """1 or 2 for the villages, -9999 for the communes not classified."""
    if commune.density_level >= 5 and commune.population < 3_500:
        return "2" if commune.density_level == 7 else "1"
    return NOT_A_VALUE


def value(territory: Territory, commune: Commune, indicator: str) -> str:
    """The published text of one indicator for one commune."""
    rng = random.Random(f"{territory.seed}-{SOURCE}-{indicator}-{commune.code}")
    if indicator == "codefrr":
        return frr_class(commune)
    if indicator == "part_pop_eloigne_soin":
        low, high = SHARE_RANGES[commune.density_level]
        return f"{rng.uniform(low, high):.1f}"
    if commune.population < SECRET_BELOW:
        return NOT_A_VALUE
    return f"{rng.uniform(40, 160):.1f}"


def write(territory: Territory, dest: Path) -> list[str]:
    """Write <dataset>__<indicator>.csv for every pair of the catalogue's 2025 vintage."""
    folder = Path(dest) / SOURCE / VINTAGE
    folder.mkdir(parents=True, exist_ok=True)
    communes = territory.geography(VINTAGE).actuelles
    for dataset, indicator in PAIRS:
        year = YEARS[indicator]
        header = ["codgeo", "libgeo", *(["an"] if year else []), indicator]
        lines = [";".join(header)]
        for commune in communes:
            cells = [commune.code, commune.libelle, *([year] if year else []), value(territory, commune, indicator)]
            lines.append(";".join(cells))
        (folder / f"{dataset}__{indicator}.csv").write_bytes(("\n".join(lines) + "\n").encode("utf-8"))
    return [VINTAGE]
