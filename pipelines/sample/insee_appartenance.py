"""Sample of insee_appartenance: INSEE's table d'appartenance géographique of the sample territory.

:func:`write` writes, for each geography vintage, ``table-appartenance-geo-communes-<year>.zip``
holding ``table-appartenance-geo-communes-<year>.xlsx`` as INSEE lays it out: the sheet
``COM`` (five title rows, then the header CODGEO, LIBGEO, DEP, REG, EPCI, NATURE_EPCI, ARR,
CV, ZE2020, UU2020, TUU2017, TDUU2017, AAV2020, TAAV2017, TDAAV2017, CATEAAV2020, BV2022,
codes as text) and the sheet ``Zones_supra_communales`` (five title rows, then NIVGEO,
CODGEO, LIBGEO, NB_COM).

The zonings, drawn from the communes' populations and town halls, département by département:

* arrondissement and canton: the territory's own (a commune without a canton is in the
  pseudo-canton ``<dép>ZZ``, as INSEE writes it);
* bassin de vie 2022: the most populated communes (one per :data:`BV_SIZE` communes) are the
  centres, every commune is in the bassin of the nearest centre; its code is the centre's;
* zone d'emploi 2020: the two most populated centres of a département (one in the smaller
  ones) each head a zone; a bassin is in the zone of the nearest head. Code: région + a
  number, four digits. In 2026, one commune of 71 (:func:`moved_commune`) moves to the
  other zone of 71: a commune that changed level between vintages;
* unité urbaine 2020: each commune of :data:`UU_MIN_POPULATION` inhabitants or more heads one;
  the others are the rural communes outside any (``<dép>000``);
* aire d'attraction 2020: each commune of :data:`POLE_MIN_POPULATION` or more is the pôle
  principal (11) of an aire; a commune within :data:`CROWN_KM` km of a pôle is in its
  couronne (20), the others are outside any aire (``000``, 30).

The DROM's codes use INSEE's letters (974 → 9D). Names are the sample's fictitious ones.
"""

from __future__ import annotations

import io
import math
import zipfile
from pathlib import Path

from openpyxl import Workbook

from pipelines.sample.insee_density_grid import workbook_bytes
from pipelines.sample.territory import SAMPLE_GEOGRAPHY_VINTAGES, Commune, Territory

SOURCE = "insee_appartenance"
BV_SIZE = 12
UU_MIN_POPULATION = 2_000
POLE_MIN_POPULATION = 8_000
CROWN_KM = 20.0
MOVED_DEPARTEMENT = "71"
MOVED_COMMUNE_RANK = 40
DROM_PREFIX = {"971": "9A", "972": "9B", "973": "9C", "974": "9D", "976": "9F"}
TITLE = "Table d'appartenance géographique des communes au 1er janvier {year} — données fictives"
COM_HEADER = (
    "CODGEO", "LIBGEO", "DEP", "REG", "EPCI", "NATURE_EPCI", "ARR", "CV", "ZE2020", "UU2020", "TUU2017",
    "TDUU2017", "AAV2020", "TAAV2017", "TDAAV2017", "CATEAAV2020", "BV2022",
)  # fmt: skip
ZONE_HEADER = ("NIVGEO", "CODGEO", "LIBGEO", "NB_COM")


def file_name(vintage: str) -> str:
    return f"table-appartenance-geo-communes-{vintage}.zip"


def write(territory: Territory, dest: Path) -> list[str]:
    """Write the table of every geography vintage; returns the vintages."""
    for vintage in SAMPLE_GEOGRAPHY_VINTAGES:
        folder = Path(dest) / SOURCE / vintage
        folder.mkdir(parents=True, exist_ok=True)
        workbook = _workbook(territory, vintage)
        member = zipfile.ZipInfo(f"table-appartenance-geo-communes-{vintage}.xlsx", date_time=(int(vintage), 3, 1, 12, 0, 0))
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(member, workbook, zipfile.ZIP_DEFLATED)
        (folder / file_name(vintage)).write_bytes(out.getvalue())
    return list(SAMPLE_GEOGRAPHY_VINTAGES)


def zonings(territory: Territory, vintage: str) -> dict[str, dict[str, str]]:
    """{commune code: {column of COM: code}} for the communes actuelles of a vintage."""
    communes = territory.geography(vintage).actuelles
    by_departement: dict[str, list[Commune]] = {}
    for commune in communes:
        by_departement.setdefault(commune.departement, []).append(commune)
    rows: dict[str, dict[str, str]] = {}
    moved = moved_commune(territory)
    aire_number = 0
    for departement in sorted(by_departement):
        members = sorted(by_departement[departement], key=lambda c: c.code)
        prefix = DROM_PREFIX.get(departement, departement)
        largest = sorted(members, key=lambda c: (-(c.population or 0), c.code))
        centres = largest[: max(1, len(members) // BV_SIZE)]
        heads = centres[: 1 if len(members) < 30 else 2]
        region = members[0].region
        zone_of_head = {h.code: f"{region}{10 + i + 10 * _departement_index(departement):02d}" for i, h in enumerate(heads)}
        poles = [c for c in largest if (c.population or 0) >= POLE_MIN_POPULATION]
        aires = {}
        for pole in poles:
            aire_number += 1
            aires[pole.code] = f"{prefix[:2]}{aire_number}" if departement in DROM_PREFIX else f"{aire_number:03d}"
        for commune in members:
            centre = min(centres, key=lambda c: (_km(commune, c), c.code))
            head = min(heads, key=lambda h: (_km(centre, h), h.code))
            zone = zone_of_head[head.code]
            if vintage == SAMPLE_GEOGRAPHY_VINTAGES[-1] and commune.code == moved and len(heads) > 1:
                zone = next(z for z in zone_of_head.values() if z != zone)
            in_uu = (commune.population or 0) >= UU_MIN_POPULATION
            pole = min(poles, key=lambda p: (_km(commune, p), p.code)) if poles else None
            if commune.code in aires:
                aire, category = aires[commune.code], "11"
            elif pole is not None and _km(commune, pole) <= CROWN_KM:
                aire, category = aires[pole.code], "20"
            else:
                aire, category = "000", "30"
            rows[commune.code] = {
                "ARR": commune.arrondissement,
                "CV": commune.canton or f"{departement}ZZ",
                "ZE2020": zone,
                "UU2020": f"{prefix}{_uu_number(commune, members):03d}" if in_uu else f"{prefix}000",
                "AAV2020": aire,
                "CATEAAV2020": category,
                "BV2022": centre.code,
            }
    return rows


def moved_commune(territory: Territory) -> str:
    """The commune of 71 that changes zone d'emploi in the last vintage: the
    MOVED_COMMUNE_RANK-th by code of those present, with the same code, in every vintage."""
    codes = [{c.code for c in territory.geography(v).actuelles if c.departement == MOVED_DEPARTEMENT} for v in SAMPLE_GEOGRAPHY_VINTAGES]
    return sorted(set.intersection(*codes))[MOVED_COMMUNE_RANK]


def _departement_index(departement: str) -> int:
    return {"2A": 0, "69": 1, "71": 2, "83": 3, "974": 4}.get(departement, 5)


def _uu_number(commune: Commune, members: list[Commune]) -> int:
    urban = sorted((c for c in members if (c.population or 0) >= UU_MIN_POPULATION), key=lambda c: c.code)
    return 401 + urban.index(commune)


def _km(a: Commune, b: Commune) -> float:
    """Distance between town halls (equirectangular: fine at a département's scale)."""
    x = math.radians(b.lon - a.lon) * math.cos(math.radians((a.lat + b.lat) / 2))
    y = math.radians(b.lat - a.lat)
    return 6371.0 * math.hypot(x, y)


def _workbook(territory: Territory, vintage: str) -> bytes:
    geography = territory.geography(vintage)
    communes = geography.actuelles
    names = {c.code: c.libelle for c in communes}
    epci_types = {e.code: e.type for e in geography.epcis}
    zones = zonings(territory, vintage)
    book = Workbook()
    sheet = book.active
    sheet.title = "COM"
    _title(sheet, vintage)
    sheet.append(COM_HEADER)
    for commune in communes:
        z = zones[commune.code]
        epci = commune.epci or "ZZZZZZZZZ"
        sheet.append([
            commune.code, commune.libelle, commune.departement, commune.region, epci,
            _nature(epci_types.get(epci)), z["ARR"], z["CV"], z["ZE2020"], z["UU2020"],
            "0" if z["UU2020"].endswith("000") else "4", "0" if z["UU2020"].endswith("000") else "43",
            z["AAV2020"], "0" if z["AAV2020"] == "000" else "1", "0" if z["AAV2020"] == "000" else "11",
            z["CATEAAV2020"], z["BV2022"],
        ])  # fmt: skip
    labels = book.create_sheet("Zones_supra_communales")
    _title(labels, vintage)
    labels.append(ZONE_HEADER)
    for level, column in (("ARR", "ARR"), ("CV", "CV"), ("ZE2020", "ZE2020"), ("UU2020", "UU2020"), ("AAV2020", "AAV2020"), ("BV2022", "BV2022")):
        members: dict[str, list[str]] = {}
        for code, z in zones.items():
            members.setdefault(z[column], []).append(code)
        for zone in sorted(members):
            labels.append([level, zone, _label(level, zone, members[zone], names, communes), len(members[zone])])
    return workbook_bytes(book, f"{vintage}-03-01T12:00:00Z")


def _title(sheet, vintage: str) -> None:
    sheet.append([TITLE.format(year=vintage)])
    sheet.append(["Source : Insee, code officiel géographique ; zonages d'étude (données fictives de l'échantillon)"])
    sheet.append([])
    sheet.append(["Mise en ligne : 1er mars " + vintage])
    sheet.append([])


def _nature(epci_type: str | None) -> str:
    return {"MET69": "ME", "METRO": "ME"}.get(epci_type or "", epci_type or "ZZ")


def _label(level: str, zone: str, members: list[str], names: dict[str, str], communes) -> str:
    """The zone's label: its centre's name (its own code for a bassin de vie), else its largest commune's."""
    if level == "UU2020" and zone.endswith("000"):
        return "Communes rurales hors unité urbaine"
    if level == "AAV2020" and zone == "000":
        return "Commune hors attraction des villes"
    if level == "BV2022":
        return names[zone]
    population = {c.code: c.population or 0 for c in communes}
    largest = max(members, key=lambda code: (population[code], code))
    prefix = {"ARR": "Arrondissement de ", "CV": "Canton de "}.get(level, "")
    return prefix + names[largest]
