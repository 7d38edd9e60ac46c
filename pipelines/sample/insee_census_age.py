"""Sample base-cc-evol-struct-pop-<year>_csv.zip files: census population by age band.

Layout as INSEE publishes it: a zip holding base-cc-evol-struct-pop-<year>.CSV (';',
latin-1, one row per commune, CODGEO then columns named with the census year: P21_POP,
P21_POP0014 … P21_POP90P, P21_POPH, P21_POPF, C21_POP15P, then the same bands six years
earlier, P15_…) and a list of the variables, meta_base-cc-evol-struct-pop-<year>.CSV.
Band counts are weighted estimates with decimals.

Story told by the sample (on the 2025 sample geography; the city of 69123 is listed by
arrondissement municipal, 69381…69389, and never as a whole):

* the villages returned by :func:`aged_villages` (about a third of those under 400
  inhabitants) have 19 % or more of their population aged 75 and over; every other
  commune has less than 15 %, the dense ones less than 9 %;
* the 2020 file carries P20_ and P14_ columns, the 2021 file P21_ and P15_ ones;
* a missing band: in the 2021 file the commune of :func:`missing_band_commune` has an empty
  P21_POP90P cell, so its share of people aged 75 and over is unknown that year.

The helpers here (the census communes, their population, the aged villages, deterministic
zips and numbers) are shared with the housing sample (insee_census_housing).
"""

from __future__ import annotations

import csv
import io
import random
import zipfile
from pathlib import Path

from pipelines.sample.territory import ARRONDISSEMENT_MUNICIPAL, COMMUNE_ACTUELLE, Commune, Territory

SOURCE = "insee_census_age"
CENSUS_YEARS = ("2020", "2021")
GEOGRAPHY = "2025"
AGE_BANDS = ("0014", "1529", "3044", "4559", "6074", "7589", "90P")
AGED_VILLAGE_MAX = 400
# Every zip entry carries this date so that the archive bytes never change.
ZIP_DATE = (2020, 1, 1, 0, 0, 0)


def write(territory: Territory, dest: Path) -> list[str]:
    """Write base-cc-evol-struct-pop-<year>_csv.zip for each census year; returns the years."""
    places, aged = census_places(territory), aged_villages(territory)
    for year in CENSUS_YEARS:
        yy, earlier = year[-2:], str(int(year) - 6)[-2:]
        header = ["CODGEO", f"P{yy}_POP", *(f"P{yy}_POP{b}" for b in AGE_BANDS), f"P{yy}_POPH",
                  f"P{yy}_POPF", f"C{yy}_POP15P", f"P{earlier}_POP", *(f"P{earlier}_POP{b}" for b in AGE_BANDS)]
        rows = [_age_row(territory, place, year, aged) for place in places]
        if year == CENSUS_YEARS[-1]:
            missing, column = missing_band_commune(territory), header.index(f"P{yy}_POP90P")
            rows = [[*row[:column], "", *row[column + 1:]] if row[0] == missing else row for row in rows]
        stem = f"base-cc-evol-struct-pop-{year}"
        variables = [(column, variable_label(column)) for column in header[1:]]
        write_zip(
            Path(dest) / SOURCE / year / f"{stem}_csv.zip",
            {f"{stem}.CSV": csv_bytes(header, rows), f"meta_{stem}.CSV": meta_bytes(variables)},
        )
    return list(CENSUS_YEARS)


def census_places(territory: Territory) -> list[Commune]:
    """The communes of the census files: communes actuelles, the city of 69123 replaced by its arrondissements."""
    geography = territory.geography(GEOGRAPHY)
    cities = {c.parent for c in geography.communes if c.type == ARRONDISSEMENT_MUNICIPAL}
    places = [
        c for c in geography.communes
        if (c.type == COMMUNE_ACTUELLE and c.code not in cities) or c.type == ARRONDISSEMENT_MUNICIPAL
    ]
    return sorted(places, key=lambda c: c.code)


def missing_band_commune(territory: Territory) -> str:
    """The commune whose 90-and-over count is missing from the 2021 file: the largest code of
    Corse-du-Sud that is not an aged village."""
    aged = aged_villages(territory)
    return max(p.code for p in census_places(territory) if p.departement == "2A" and p.code not in aged)


def census_rng(territory: Territory, code: str, *topic: str) -> random.Random:
    """The random draws of one commune for one topic, the same on every run."""
    return random.Random("-".join([str(territory.seed), "census", code, *topic]))


def census_population(territory: Territory, place: Commune, year: str) -> int:
    """Population counted by the census of that year (the 2025 legal population for 2021)."""
    drift = census_rng(territory, place.code, "drift").uniform(-0.004, 0.012)
    return round(place.population * (1 - drift) ** (2021 - int(year)))


def aged_villages(territory: Territory) -> set[str]:
    """Codes of the villages where 19 % or more of the population is 75 or over."""
    return {
        place.code
        for place in census_places(territory)
        if place.type == COMMUNE_ACTUELLE and place.population < AGED_VILLAGE_MAX
        and census_rng(territory, place.code, "aged").random() < 0.35
    }


def age_shares(territory: Territory, place: Commune, year: str, aged: set[str]) -> dict[str, float]:
    """Share of the population in each age band, summing to 1."""
    rng = census_rng(territory, place.code, "ages", year)
    if place.code in aged:
        share_75 = rng.uniform(0.195, 0.27)
    elif place.density_level == 1:
        share_75 = rng.uniform(0.05, 0.085)
    elif place.density_level <= 4:
        share_75 = rng.uniform(0.07, 0.11)
    else:
        share_75 = rng.uniform(0.09, 0.145)
    share_90 = share_75 * rng.uniform(0.12, 0.2)
    young = (0.08, 0.12) if place.code in aged else (0.15, 0.2)
    senior = (0.2, 0.26) if place.code in aged else (0.15, 0.2)
    weights = {"0014": rng.uniform(*young), "1529": rng.uniform(0.13, 0.2), "3044": rng.uniform(0.16, 0.21),
               "4559": rng.uniform(0.18, 0.22), "6074": rng.uniform(*senior)}
    scale = (1 - share_75) / sum(weights.values())
    return {**{band: w * scale for band, w in weights.items()}, "7589": share_75 - share_90, "90P": share_90}


def decimal(value: float) -> str:
    """A census count as INSEE writes it: plain decimals, no trailing zeros ('152.398762', '12')."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def csv_bytes(header: list[str], rows: list[list[str]]) -> bytes:
    """A ';'-separated latin-1 file, one line per row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("latin-1")


def meta_bytes(variables: list[tuple[str, str]]) -> bytes:
    """The list of variables that INSEE ships beside the data (code and label, latin-1)."""
    return csv_bytes(["COD_VAR", "LIB_VAR"], [list(v) for v in variables])


def write_zip(path: Path, members: dict[str, bytes]) -> None:
    """A zip whose bytes depend on the members only (fixed dates and permissions)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    path.write_bytes(buffer.getvalue())


def _age_row(territory: Territory, place: Commune, year: str, aged: set[str]) -> list[str]:
    earlier = str(int(year) - 6)
    cells = [place.code]
    for census_year in (year, earlier):
        population = census_population(territory, place, census_year)
        shares = age_shares(territory, place, census_year, aged)
        bands = [decimal(population * shares[b]) for b in AGE_BANDS]
        if census_year == year:
            men = population * census_rng(territory, place.code, "men", year).uniform(0.47, 0.5)
            extra = [decimal(men), decimal(population - men), decimal(population * (1 - shares["0014"]))]
            cells += [str(population), *bands, *extra]
        else:
            cells += [str(population), *bands]
    return cells


def variable_label(column: str) -> str:
    """A French label in INSEE's style for a variable of this file."""
    year = "20" + column[1:3]
    name = column[4:]
    labels = {"POP": "Population", "POPH": "Pop Hommes", "POPF": "Pop Femmes", "POP15P": "Pop 15 ans ou plus"}
    if name in labels:
        return f"{labels[name]} en {year} (princ)"
    band = name.removeprefix("POP")
    ages = "90 ans ou plus" if band == "90P" else f"{band[:2]}-{band[2:]} ans"
    return f"Pop {ages} en {year} (princ)"
