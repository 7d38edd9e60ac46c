"""Sample of insee_filosofi: Filosofi 2020 and 2021 for the sample territory, as INSEE's base communale.

:func:`write` writes, for each income year, the zip of the base communale
(``base-cc-filosofi-2020_CSV.zip``, ``base-cc-filosofi-2021-geo2024_csv.zip``) holding
``cc_filosofi_<year>_COM.csv``: `;`-separated UTF-8, LF, the columns of INSEE's file with
the year's two digits (CODGEO, LIBGEO, NBMENFISC21, NBPERSMENFISC21, MED21, PIMP21, TP6021,
the poverty rates by age and tenure, the shares of income, D121, D921, RD21), one row per
commune of the 2025 geography (standing in for the COG 2023 and 2024), by code. The story
fills CODGEO to TP6021 and D1, D9, RD; the rates by age and tenure and the income shares
are left empty.

The story, by rule:

* households are the population divided by 2.2 persons (2.6 in 974); a commune with fewer
  than :data:`MIN_HOUSEHOLDS` households or :data:`MIN_PERSONS` persons is secret: all its
  values are withheld ("s" in the 2021 file, empty cells in the 2020 one, the two forms
  INSEE's files use), as INSEE's diffusion rule has it; the sample publishes the poverty rate
  wherever it publishes the median (INSEE withholds it for more communes);
* poverty rates (2021): Réunion (974) high, around 36 %; the Var (83) hinterland around 19 %
  and its coast (the southern third of its box, see the anct_littoral sample) around 11 %;
  the suburbs of the Lyon-style métropole (ctcd 69M, the city 69123 excepted) low, around
  6 %, and bottom-coded at 5 % as INSEE publishes any rate under 5 %; elsewhere 2A 18 %, 69
  12 %, 71 13 %; each commune ±2 points (seeded);
* the median standard of living falls as the poverty rate rises: 22,500 € − 250 € per point
  above 13 %, ±400 € (seeded), rounded to 10 €;
* 2020 is a year poorer: rates 0.3 point higher, medians 2.5 % lower.
"""

from __future__ import annotations

import random
import zipfile
from pathlib import Path

from pipelines.sample.anct_littoral import on_coast
from pipelines.sample.territory import Commune, Territory

SOURCE = "insee_filosofi"
GEOGRAPHY = "2025"
FILES = {"2020": "base-cc-filosofi-2020_CSV.zip", "2021": "base-cc-filosofi-2021-geo2024_csv.zip"}
WITHHELD = {"2020": "", "2021": "s"}
# INSEE's columns, without the year's two digits.
COLUMNS = (
    "CODGEO", "LIBGEO", "NBMENFISC", "NBPERSMENFISC", "MED", "PIMP", "TP60", "TP60AGE1", "TP60AGE2", "TP60AGE3",
    "TP60AGE4", "TP60AGE5", "TP60AGE6", "TP60TOL1", "TP60TOL2", "PACT", "PTSA", "PCHO", "PBEN", "PPEN", "PPAT",
    "PPSOC", "PPFAM", "PPMINI", "PPLOGT", "PIMPOT", "D1", "D9", "RD",
)  # fmt: skip
MIN_HOUSEHOLDS, MIN_PERSONS = 50, 100
PERSONS_PER_HOUSEHOLD = {"974": 2.6}
DEFAULT_PERSONS_PER_HOUSEHOLD = 2.2
POVERTY = {"974": 36.0, "2A": 18.0, "69": 12.0, "71": 13.0}
VAR_COAST, VAR_HINTERLAND, SUBURB = 11.0, 19.0, 6.0
METROPOLE_CTCD = "69M"
FLOOR = 5.0  # INSEE publishes a rate under 5 % as 5
NOISE = 2.0
PREVIOUS_YEAR = {"rate": 0.3, "median": 1.025}


def values(territory: Territory, year: str) -> dict[str, dict[str, float | int | None]]:
    """The story's values of every commune for an income year: households, persons, median,
    poverty rate (None when secret), by code."""
    result = {}
    for commune in territory.geography(GEOGRAPHY).actuelles:
        size = PERSONS_PER_HOUSEHOLD.get(commune.departement, DEFAULT_PERSONS_PER_HOUSEHOLD)
        households = round(commune.population / size)
        persons = round(households * size * 2) / 2
        if households < MIN_HOUSEHOLDS or persons < MIN_PERSONS:
            result[commune.code] = {"households": None, "persons": None, "median": None, "poverty_rate": None}
            continue
        rng = random.Random(f"{territory.seed}-{SOURCE}-{commune.code}")
        rate = _poverty_base(territory, commune) + rng.uniform(-NOISE, NOISE)
        median = 22_500 - 250 * (rate - 13) + rng.uniform(-400, 400)
        if year != "2021":
            rate, median = rate + PREVIOUS_YEAR["rate"], median / PREVIOUS_YEAR["median"]
        result[commune.code] = {
            "households": households, "persons": persons,
            "median": round(median, -1), "poverty_rate": round(max(FLOOR, rate), 1),
        }  # fmt: skip
    return result


def write(territory: Territory, dest: Path) -> list[str]:
    """Write the zips of 2020 and 2021; returns their vintages."""
    for year, file_name in FILES.items():
        folder = Path(dest) / SOURCE / year
        folder.mkdir(parents=True, exist_ok=True)
        info = zipfile.ZipInfo(f"cc_filosofi_{year}_COM.csv", date_time=(int(year) + 3, 1, 15, 12, 0, 0))
        with zipfile.ZipFile(folder / file_name, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(info, _commune_file(territory, year), zipfile.ZIP_DEFLATED)
    return list(FILES)


def _poverty_base(territory: Territory, commune: Commune) -> float:
    if commune.departement == "83":
        return VAR_COAST if on_coast(territory, commune) else VAR_HINTERLAND
    if commune.ctcd == METROPOLE_CTCD and commune.code != "69123":
        return SUBURB
    return POVERTY[commune.departement]


def _commune_file(territory: Territory, year: str) -> bytes:
    suffix = year[-2:]
    header = [name if name in ("CODGEO", "LIBGEO") else f"{name}{suffix}" for name in COLUMNS]
    withheld = WITHHELD[year]
    lines = [";".join(header)]
    names = {c.code: c.libelle for c in territory.geography(GEOGRAPHY).actuelles}
    for code, row in values(territory, year).items():
        if row["median"] is None:
            cells = {name: withheld for name in COLUMNS[2:]}
        else:
            median, rate = row["median"], row["poverty_rate"]
            cells = {
                "NBMENFISC": row["households"], "NBPERSMENFISC": _number(row["persons"]), "MED": _number(median),
                "PIMP": _number(round(50 - (rate - 13), 1)), "TP60": _number(rate), "D1": _number(round(median * 0.55, -1)),
                "D9": _number(round(median * 1.75, -1)), "RD": "3.2",
            }  # fmt: skip
        lines.append(";".join([code, names[code], *(str(cells.get(name, "")) for name in COLUMNS[2:])]))
    return ("\n".join(lines) + "\n").encode("utf-8")


def _number(value: float) -> str:
    """A number as INSEE writes it: a point for decimals, no trailing .0."""
    return f"{value:.1f}".removesuffix(".0")
