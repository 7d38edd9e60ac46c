"""Sample base-cc-logement-<year>_csv.zip files: census dwellings, households and cars.

Layout as INSEE publishes it: a zip holding base-cc-logement-<year>.CSV (';', latin-1,
CODGEO then columns named with the census year: P21_LOG, P21_RP, P21_RSECOCC, P21_LOGVAC,
P21_MAISON, P21_APPART, P21_MEN, P21_PMEN, P21_RP_VOIT1P, P21_RP_VOIT1, P21_RP_VOIT2P) and
the list of its variables, meta_base-cc-logement-<year>.CSV (latin-1, with accents).

Story told by the sample, on the same communes and populations as the age base:

* households without a car: 35–50 % in the arrondissements of 69123 and the other dense
  communes, 4–10 % in the villages (density levels 5–7), 8–12 points more in the aged
  villages of :func:`pipelines.sample.insee_census_age.aged_villages`;
* households are main residences (MEN = RP); main residences are 70–92 % of dwellings.
"""

from __future__ import annotations

from pathlib import Path

from pipelines.sample.insee_census_age import (
    aged_villages,
    census_places,
    census_population,
    census_rng,
    csv_bytes,
    decimal,
    meta_bytes,
    write_zip,
)
from pipelines.sample.territory import Commune, Territory

SOURCE = "insee_census_housing"
CENSUS_YEARS = ("2020", "2021")
VARIABLES = (
    ("LOG", "Logements"),
    ("RP", "Résidences principales"),
    ("RSECOCC", "Rés secondaires et logements occasionnels"),
    ("LOGVAC", "Logements vacants"),
    ("MAISON", "Maisons"),
    ("APPART", "Appartements"),
    ("MEN", "Ménages"),
    ("PMEN", "Population des ménages"),
    ("RP_VOIT1P", "Ménages au moins une voiture"),
    ("RP_VOIT1", "Ménages une voiture"),
    ("RP_VOIT2P", "Ménages deux voitures ou plus"),
)


def write(territory: Territory, dest: Path) -> list[str]:
    """Write base-cc-logement-<year>_csv.zip for each census year; returns the years."""
    places, aged = census_places(territory), aged_villages(territory)
    for year in CENSUS_YEARS:
        yy = year[-2:]
        header = ["CODGEO", *(f"P{yy}_{name}" for name, _ in VARIABLES)]
        rows = [_housing_row(territory, place, year, aged) for place in places]
        labels = [(f"P{yy}_{name}", f"{label} en {year} (princ)") for name, label in VARIABLES]
        stem = f"base-cc-logement-{year}"
        write_zip(
            Path(dest) / SOURCE / year / f"{stem}_csv.zip",
            {f"{stem}.CSV": csv_bytes(header, rows), f"meta_{stem}.CSV": meta_bytes(labels)},
        )
    return list(CENSUS_YEARS)


def car_free_share(territory: Territory, place: Commune, year: str, aged: set[str]) -> float:
    """Share of the households of a commune without a car."""
    rng = census_rng(territory, place.code, "cars", year)
    if place.density_level == 1:
        share = rng.uniform(0.35, 0.5)
    elif place.density_level <= 3:
        share = rng.uniform(0.15, 0.25)
    elif place.density_level == 4:
        share = rng.uniform(0.1, 0.16)
    else:
        share = rng.uniform(0.04, 0.1)
    return share + (rng.uniform(0.08, 0.12) if place.code in aged else 0.0)


def _housing_row(territory: Territory, place: Commune, year: str, aged: set[str]) -> list[str]:
    rng = census_rng(territory, place.code, "housing", year)
    population = census_population(territory, place, year)
    if place.code in aged:
        household_size = rng.uniform(1.85, 2.05)
    elif place.density_level == 1:
        household_size = rng.uniform(1.75, 2.0)
    else:
        household_size = rng.uniform(2.05, 2.45)
    in_households = population * rng.uniform(0.97, 0.995)
    households = in_households / household_size
    dwellings = households / rng.uniform(0.7, 0.92)
    secondary = (dwellings - households) * rng.uniform(0.3, 0.7)
    houses = dwellings * (rng.uniform(0.05, 0.15) if place.density_level == 1 else rng.uniform(0.6, 0.95))
    with_car = households * (1 - car_free_share(territory, place, year, aged))
    two_cars = with_car * rng.uniform(0.3, 0.6)
    values = [dwellings, households, secondary, dwellings - households - secondary, houses,
              dwellings - houses, households, in_households, with_car, with_car - two_cars, two_cars]
    return [place.code, *(decimal(v) for v in values)]
