"""Sample ensemble.zip files: INSEE populations légales by commune.

Layout as INSEE publishes it: ensemble.zip holds donnees_communes.csv (';', UTF-8,
REG;Région;DEP;CODARR;CODCAN;CODCOM;COM;Commune;PMUN;PCAP;PTOT, COM being the 5-character
code and CODCOM the commune part after the département code) beside other tables, here
donnees_departements.csv.

Story told by the sample:

* vintage 2022 is the legal population in force on 1 January 2025: the same numbers as
  Etalab's 2025 package; vintage 2023, in force on 1 January 2026, is on the 2025
  geography: the communes merged on 1 January 2026 are still listed one by one, and they
  add up to the population Etalab's 2026 package gives their commune nouvelle;
* the city of 69123 is listed by arrondissement municipal (69381…69389), not as a whole.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from pipelines.sample.insee_census_age import write_zip
from pipelines.sample.territory import ARRONDISSEMENT_MUNICIPAL, COMMUNE_ACTUELLE, Commune, Territory

SOURCE = "insee_population"
# Reference year of the population → sample geography whose Etalab package carries it.
IN_FORCE = {"2022": "2025", "2023": "2026"}
LISTED_ON = "2025"  # both are published on the 2025 sample geography
COMMUNES_HEADER = ["REG", "Région", "DEP", "CODARR", "CODCAN", "CODCOM", "COM", "Commune", "PMUN", "PCAP", "PTOT"]
DEPARTEMENTS_HEADER = ["REG", "Région", "DEP", "Département", "NBARR", "NBCAN", "NBCOM", "PMUN", "PTOT"]


def write(territory: Territory, dest: Path) -> list[str]:
    """Write ensemble.zip for each reference year; returns the vintages written."""
    regions = {r.code: r.nom for r in territory.regions}
    for vintage in IN_FORCE:
        populations = legal_populations(territory, vintage)
        places = listed_places(territory)
        rows = [_commune_row(place, regions, populations[place.code]) for place in places]
        write_zip(
            Path(dest) / SOURCE / vintage / "ensemble.zip",
            {
                "donnees_communes.csv": _csv_bytes(COMMUNES_HEADER, rows),
                "donnees_departements.csv": _csv_bytes(
                    DEPARTEMENTS_HEADER, _departement_rows(territory, places, regions, populations)
                ),
            },
        )
    return list(IN_FORCE)


def listed_places(territory: Territory) -> list[Commune]:
    """The entries of donnees_communes.csv: communes actuelles of 2025, 69123 by arrondissement."""
    geography = territory.geography(LISTED_ON)
    cities = {c.parent for c in geography.communes if c.type == ARRONDISSEMENT_MUNICIPAL}
    places = [
        c for c in geography.communes
        if (c.type == COMMUNE_ACTUELLE and c.code not in cities) or c.type == ARRONDISSEMENT_MUNICIPAL
    ]
    return sorted(places, key=lambda c: c.code)


def legal_populations(territory: Territory, vintage: str) -> dict[str, tuple[int, int]]:
    """(population municipale, population totale) of every listed code for a reference year.

    The population in force a year later is the one of the geography of that year; a commune
    merged on that date gets the share of its commune nouvelle's population that its own
    population had the year before (the chef-lieu takes the rounding remainder).
    """
    now, later = territory.geography(LISTED_ON), territory.geography(IN_FORCE[vintage])
    mergers = [m for m in territory.mergers if LISTED_ON < m.vintage <= IN_FORCE[vintage]]
    merged = {code for merger in mergers for code in merger.predecessors}
    result = {}
    for place in listed_places(territory):
        if place.code not in merged:
            entry = later.commune(place.code)
            result[place.code] = (entry.population, entry.population_totale)
    for merger in mergers:
        total = later.commune(merger.code)
        before = {code: now.commune(code) for code in merger.predecessors}
        weight = sum(c.population for c in before.values())
        others = [code for code in merger.predecessors if code != merger.code]
        for code in others:
            share = before[code].population / weight
            result[code] = (round(total.population * share), round(total.population_totale * share))
        result[merger.code] = (
            total.population - sum(result[c][0] for c in others),
            total.population_totale - sum(result[c][1] for c in others),
        )
    return result


def _commune_row(place: Commune, regions: dict[str, str], population: tuple[int, int]) -> list:
    dep = place.departement
    municipale, totale = population
    canton = place.canton.removeprefix(dep)
    return [place.region, regions[place.region], dep, place.arrondissement.removeprefix(dep), canton,
            place.code.removeprefix(dep), place.code, place.libelle, municipale, totale - municipale, totale]


def _departement_rows(
    territory: Territory, places: list[Commune], regions: dict[str, str], populations: dict[str, tuple[int, int]]
) -> list[list]:
    geography = territory.geography(LISTED_ON)
    rows = []
    for departement in sorted(territory.departements, key=lambda d: d.code):
        listed = [p for p in places if p.departement == departement.code]
        communes = [c for c in geography.actuelles if c.departement == departement.code]
        arrondissements = {p.arrondissement for p in listed}
        cantons = {p.canton for p in listed if p.canton}
        rows.append([
            departement.region, regions[departement.region], departement.code, departement.nom,
            len(arrondissements), len(cantons), len(communes),
            sum(populations[p.code][0] for p in listed), sum(populations[p.code][1] for p in listed),
        ])
    return rows


def _csv_bytes(header: list[str], rows: list[list]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")
