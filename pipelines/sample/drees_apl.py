"""Sample DREES APL workbook: APL to general practitioners for the communes of the territory.

One workbook laid out like the current DREES one (sheets `Paramètres`, `APL 2022`, `APL 2023`;
in each APL sheet, titles and notes in rows 1–8, the header in row 9, units in row 10, then one
row per commune), written under both vintages. Its header uses the wording of the 2024
edition ("APL aux médecins généralistes de 65 ans ou moins", then the same for 62 and 60 years
or less); the 2023 edition said "de moins de 65 ans" (both are read, see the catalogue). Communes are those of the 2025 sample geography, before
the 2026 mergers; the city with arrondissements is listed by arrondissement only.

Story (see :func:`story`):

* deserts: the five smallest villages of Saône-et-Loire have an APL below 2.5 in both years;
* new desert: the next village falls from 2.8 in 2022 to 2.2 in 2023 (a GP retired);
* retirement cliff: two villages of the Rhône are above 2.5, but below it once the GPs of 65
  and over are left out;
* no GP: the smallest commune of Corse-du-Sud has an APL of 0;
* not published: the next village of Saône-et-Loire has empty APL cells (DREES gives no
  value): its APL and desert flag are unknown, not 0;
* nobody to weigh: the next village of Corse-du-Sud has a standardised and a total population
  of 0 (an uninhabited commune) and a published APL;
* well served: every town of 10,000 inhabitants or more and every arrondissement is above 4.

Every other commune is between 2.6 and 6.5, so the communes below 2.5 are exactly the
deserts, the new desert (in 2023) and the commune without GP.
"""

from __future__ import annotations

import io
import random
import re
import zipfile
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook

from pipelines.sample.territory import (
    ARRONDISSEMENT_MUNICIPAL,
    ARTICLES,
    SAMPLE_NOTICE,
    Commune,
    Territory,
)

SOURCE = "drees_apl"
FILE_NAME = "apl_medecins_generalistes.xlsx"
APL_YEARS = ("2022", "2023")
GEOGRAPHY_VINTAGE = "2025"  # the last sample geography before the 2026 mergers
POPULATION_LAG = 2  # APL of year N uses the population of year N - 2
TOWN_POPULATION = 10_000
DESERT_THRESHOLD = 2.5
FIXED_TIME = datetime(2024, 1, 1)  # written in the workbook's properties instead of the time of writing

UNITS_APL = "En nombre de consultations/visites accessibles par habitant standardisé"
FIELD = (
    "Omnipraticiens libéraux, certains médecins libéraux à exercice particulier (homéopathes, "
    "acupuncteurs, gériatres, médecine physique) et salariés en centre de santé"
)
NOTE = (
    "Note : Pour calculer un APL moyen (agrégé au niveau du territoire de vie-santé ou du département "
    "par exemple), l'APL communal doit être pondéré par la population standardisée. \nPour comptabiliser "
    "la population sous un seuil d'APL ou calculer des quantiles, la population non standardisée doit "
    "être utilisée."
)
PARAMETERS = (
    ("Paramètres de l'indicateur d'APL aux médecins généralistes",),
    (),
    ("Champ de l'indicateur",),
    (FIELD + ".",),
    (),
    ("Comptabilisation de l'activité",),
    (
        "Nombre de consultations, visites et téléconsultations effectuées dans l'année d'après les données "
        "du SNIIR-AM",
        "Nombre de consultations, visites et téléconsultations comptabilisées dans l'indicateur",
    ),
    ("Moins de 250", 0),
    ("Entre 251 et 3 600", 3600),
    ("Entre 3 601 et 6 000",
     "Nombre de consultations et visites effectués dans l'année d'après les données du SNIIR-AM"),
    ("Plus de 6 000", 6000),
)


def write(territory: Territory, dest: Path) -> list[str]:
    """Write the workbook (one sheet per APL year) under every APL year; returns the years written."""
    data = workbook_bytes(territory)
    for year in APL_YEARS:
        folder = Path(dest) / SOURCE / year
        folder.mkdir(parents=True, exist_ok=True)
        (folder / FILE_NAME).write_bytes(data)
    return list(APL_YEARS)


def sample_rows(territory: Territory, year: str) -> list[tuple[str, str, float | None, float | None, float, int]]:
    """The rows of the sheet `APL <year>`: (code, name, APL, APL under 65, standardised
    population, total population), sorted by code."""
    groups = story(territory)
    story_of = {code: name for name, codes in groups.items() for code in codes}
    names = _names_in(territory, year)
    rows = []
    for commune in _apl_communes(territory):
        rng = random.Random(f"{territory.seed}-{SOURCE}-{commune.code}")
        part = story_of.get(commune.code)
        apl, under_65 = _apl(rng, commune, part, year)
        total, standardised = _populations(rng, commune, int(year) - POPULATION_LAG)
        if part == "not_published":
            apl = under_65 = None
        elif part == "nobody_to_weigh":
            total, standardised = 0, 0.0
        rows.append((commune.code, names.get(commune.code, commune.libelle), apl, under_65, standardised, total))
    return rows


def story(territory: Territory) -> dict[str, tuple[str, ...]]:
    """The communes each part of the story is about, by part (see the module docstring)."""
    communes = _apl_communes(territory)

    def villages(departement: str) -> list[Commune]:
        found = [c for c in communes if c.departement == departement and c.density_level >= 5]
        return sorted(found, key=lambda c: (c.population, c.code))

    burgundy = villages("71")
    return {
        "deserts": tuple(c.code for c in burgundy[:5]),
        "new_desert": (burgundy[5].code,),
        "retirement_cliff": tuple(c.code for c in villages("69")[:2]),
        "no_gp": (villages("2A")[0].code,),
        "not_published": (burgundy[6].code,),
        "nobody_to_weigh": (villages("2A")[1].code,),
        "well_served": tuple(
            c.code for c in communes
            if c.type == ARRONDISSEMENT_MUNICIPAL or c.population_totale >= TOWN_POPULATION
        ),
    }


def workbook_bytes(territory: Territory) -> bytes:
    """The workbook, with the same bytes on every call."""
    book = Workbook()
    parameters = book.active
    parameters.title = "Paramètres"
    for row in PARAMETERS:
        parameters.append(row)
    for year in APL_YEARS:
        write_apl_sheet(book.create_sheet(f"APL {year}"), year, sample_rows(territory, year))
    book.properties.creator = "DREES"
    book.properties.description = SAMPLE_NOTICE
    book.properties.created = FIXED_TIME
    buffer = io.BytesIO()
    book.save(buffer)
    return _without_timestamps(buffer.getvalue())


def write_apl_sheet(sheet, year: str, rows: list[tuple]) -> None:
    population_year = int(year) - POPULATION_LAG
    first_name, first_apl, first_under_65 = rows[0][1], rows[0][2], rows[0][3]
    sheet.append([f"Indicateur d'accessibilité potentielle localisée (APL) {year} aux médecins généralistes"])
    sheet.append([])
    sheet.append([f"Millésime : {year}"])
    sheet.append([
        "Sources : Activité des médecins généralistes libéraux et salariés en centre de santé : "
        f"SNIIR-AM {year}, consommations de soins par tranche d'âge : SNIIR-AM {population_year}, Cnam ; \n"
        f"Populations par sexe et âge {population_year}, distancier Metric, Insee ; \nTraitements Drees."
    ])
    sheet.append([f"Champ : {FIELD} ; France hors Mayotte."])
    sheet.append([
        "Lecture : Compte tenu de la structure par âge de la population, les habitants de "
        f"{first_name} ont accès en moyenne à {_french(first_apl)} consultation, visite ou téléconsultation "
        "de médecine générale par an et par habitant. \nQuand l'offre de soins de médecine générale est "
        "restreinte à celle fournie par les médecins âgés de 65 ans ou moins, les habitants de "
        f"{first_name} ont accès en moyenne à {_french(first_under_65)} consultation, visite ou "
        "téléconsultation de médecine générale par an et par habitant."
    ])
    sheet.append([NOTE])
    sheet.append([])
    sheet.append([
        "Code commune INSEE",
        "Commune",
        "APL aux médecins généralistes",
        "APL aux médecins généralistes de 65 ans ou moins",
        "APL aux médecins généralistes de 62 ans ou moins",
        "APL aux médecins généralistes de 60 ans ou moins",
        f"Population standardisée {population_year} pour la médecine générale",
        f"Population totale {population_year}",
    ])
    sheet.append([None, None, *[UNITS_APL] * 4, "En nombre d'habitants standardisés", "En nombre d'habitants"])
    for code, name, apl, under_65, standardised, total in rows:
        # GPs of 62 and under, 60 and under: a little less offer at each step.
        younger = [None, None] if under_65 is None else [round(under_65 * 0.93, 3), round(under_65 * 0.87, 3)]
        sheet.append([code, name, apl, under_65, *younger, standardised, total])


def _apl_communes(territory: Territory) -> list[Commune]:
    """Communes as DREES lists them: a city with arrondissements municipaux by arrondissement only."""
    geography = territory.geography(GEOGRAPHY_VINTAGE)
    arrondissements = [c for c in geography.communes if c.type == ARRONDISSEMENT_MUNICIPAL]
    cities = {c.parent for c in arrondissements}
    kept = [c for c in geography.actuelles if c.code not in cities] + arrondissements
    return sorted(kept, key=lambda c: c.code)


def _names_in(territory: Territory, year: str) -> dict[str, str]:
    """Names a commune had in that year when it was renamed later (the file uses the COG of its year)."""
    renames = sorted(
        (m for m in territory.movements if m.mod == 10 and m.date > f"{year}-12-31"),
        key=lambda m: m.date,
        reverse=True,
    )
    return {m.code_before: ARTICLES[m.tncc_before] + m.name_before for m in renames}


def _apl(rng: random.Random, commune: Commune, part: str | None, year: str) -> tuple[float, float]:
    """(APL, APL to GPs under 65) of a commune for one year; the same draws for every year."""
    urban = commune.density_level <= 2 or part == "well_served"
    base = rng.uniform(4.2, 6.5) if urban else rng.uniform(2.7, 4.6)
    change = rng.uniform(-0.04, 0.04)
    share_under_65 = rng.uniform(0.75, 0.95)
    low = rng.uniform(1.3, 2.3)
    if part == "deserts":
        apl = low if year == APL_YEARS[-1] else low + 0.1
    elif part == "new_desert":
        apl = 2.2 if year == APL_YEARS[-1] else 2.8
    elif part == "no_gp":
        return 0.0, 0.0
    elif part == "retirement_cliff":
        apl = max(base, 2.9)
        share_under_65 = min(rng.uniform(0.5, 0.6), 2.3 / apl)
    else:
        # Earlier years move a little around the last one, staying clear of the threshold.
        apl = base if year == APL_YEARS[-1] else max(base * (1 + change), 2.6)
    return round(apl, 3), round(apl * share_under_65, 3)


def _populations(rng: random.Random, commune: Commune, population_year: int) -> tuple[int, float]:
    """(total population, standardised population) in the population year of the APL."""
    growth = rng.uniform(-0.012, 0.012)
    # Villages are older than towns, and older people see their GP more often.
    age_weight = rng.uniform(1.0, 1.15) if commune.density_level >= 5 else rng.uniform(0.88, 1.02)
    years_before = int(APL_YEARS[-1]) - POPULATION_LAG - population_year
    total = round(commune.population_totale / (1 + growth) ** years_before)
    return total, round(total * age_weight, 3)


def _french(value: float) -> str:
    """A value to one decimal with a decimal comma, as in the DREES notes."""
    return f"{value:.1f}".replace(".", ",")


def _without_timestamps(data: bytes) -> bytes:
    """The same .xlsx with fixed entry dates and document dates, so that its bytes never change."""
    stamp = FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ")
    source, target = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with source, zipfile.ZipFile(target, "w") as out:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                text = re.sub(r"(<dcterms:(created|modified)[^>]*>)[^<]*", rf"\g<1>{stamp}", content.decode("utf-8"))
                content = text.encode("utf-8")
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            out.writestr(entry, content)
    return target.getvalue()
