"""Sample of insee_density_grid: INSEE's density grid workbooks for the sample territory.

Two vintages, one per layout, both on the 2025 sample communes (the fictitious territory
has no 2022 geography):

* 2022, ``grille_densite_7_niveaux_2022.xlsx``: sheet ``Grille_Densite`` (then
  ``Documentation``), three title rows, a row of French labels, the header of codes on
  row 5: CODGEO, LIBGEO, DENS (7 levels), LIBDENS, PMUN19, P1…P7;
* 2025, ``fichier_diffusion_2025.xlsx``: sheet ``Maille communale``, the same four rows
  before the header, then CODGEO, LIBGEO, DENS (3 levels), LIBDENS, PMUN22, P1…P3,
  DENS_AAV, LIBDENS_AAV, DENS7, LIBDENS7 (the wording of the title rows is ours).

Codes are text cells and levels numbers, as INSEE writes them. The 2025 levels are the
territory's; the story: in the 2022 grid the most populous bourg rural (level 5) of each
metropolitan département was still a ceinture urbaine (level 4) — :func:`became_rural`.
"""

from __future__ import annotations

import io
import random
import re
import zipfile
from pathlib import Path

from openpyxl import Workbook

from pipelines.sample.territory import Commune, Territory

SOURCE = "insee_density_grid"
GEOGRAPHY = "2025"
FILES = {"2022": "grille_densite_7_niveaux_2022.xlsx", "2025": "fichier_diffusion_2025.xlsx"}

LEVEL_LABELS = {
    1: "Grands centres urbains",
    2: "Centres urbains intermédiaires",
    3: "Petites villes",
    4: "Ceintures urbaines",
    5: "Bourgs ruraux",
    6: "Rural à habitat dispersé",
    7: "Rural à habitat très dispersé",
}
THREE_LEVEL_LABELS = {1: "Urbain dense", 2: "Urbain intermédiaire", 3: "Rural"}
FOUR_LEVEL_LABELS = {1: "Urbain dense", 2: "Urbain intermédiaire", 3: "Rural périurbain", 4: "Rural non périurbain"}

SEVEN_LEVEL_TITLES = (
    "Grille de densité",
    "France – Niveau de densité (7 niveaux) des communes",
    "Mise en ligne le 17/05/2023       Géographie au 01/01/2022",
)
SEVEN_LEVEL_LABELS_ROW = (
    "\nCode \nCommune\n", "Libellé des communes\n", "Typo degré de \nDensité\n", "Libellé degré de densité",
    "Population \nmunicipale \n2019", *(f"Part population dans niveau {n}" for n in range(1, 8)),
)  # fmt: skip
SEVEN_LEVEL_HEADER = ("CODGEO", "LIBGEO", "DENS", "LIBDENS", "PMUN19", *(f"P{n}" for n in range(1, 8)))
DOCUMENTATION = (
    "Grille de densité",
    "France – Niveau de densité (7 niveaux) des communes",
    None,
    "Définitions",
    'Les définitions des notions utilisées dans ce fichier sont accessibles dans la rubrique "Définitions, '
    'méthodes et qualité"',
    "du site internet de l'Insee :",
    "https://www.insee.fr/fr/metadonnees/definitions",
)

REVISED_TITLES = (
    "Grille communale de densité",
    "France – Niveau de densité des communes (3, 4 et 7 niveaux)",
    "Géographie au 01/01/2025",
)
REVISED_LABELS_ROW = (
    "Code commune", "Libellé des communes", "Degré de densité (3 niveaux)", "Libellé du degré de densité",
    "Population municipale 2022", *(f"Part de la population dans le niveau {n}" for n in range(1, 4)),
    "Degré de densité (4 niveaux)", "Libellé du degré de densité (4 niveaux)", "Degré de densité (7 niveaux)",
    "Libellé du degré de densité (7 niveaux)",
)  # fmt: skip
REVISED_HEADER = (
    "CODGEO", "LIBGEO", "DENS", "LIBDENS", "PMUN22", "P1", "P2", "P3", "DENS_AAV", "LIBDENS_AAV", "DENS7",
    "LIBDENS7",
)  # fmt: skip

# Fixed document dates (the workbook's own timestamps), so the bytes never change.
MODIFIED = {"2022": "2023-05-16T17:08:25Z", "2025": "2025-05-15T08:00:00Z"}
_ZIP_DATE = (2020, 1, 1, 0, 0, 0)


def three_levels(level: int) -> int:
    """The 3-level grid class of a 7-level density level (1 dense, 2 intermédiaire, 3 rural)."""
    return 1 if level == 1 else 2 if level <= 4 else 3


def became_rural(territory: Territory) -> set[str]:
    """Communes at level 4 in the 2022 grid and level 5 in 2025: the most populous level-5
    commune of each metropolitan département."""
    chosen = {}
    for commune in territory.geography(GEOGRAPHY).actuelles:
        if commune.density_level != 5 or commune.departement == "974":
            continue
        best = chosen.get(commune.departement)
        if best is None or (commune.population, commune.code) > (best.population, best.code):
            chosen[commune.departement] = commune
    return {c.code for c in chosen.values()}


def levels(territory: Territory, vintage: str) -> dict[str, int]:
    """The 7-level density level of every 2025 sample commune in the grid of a vintage."""
    changed = became_rural(territory) if vintage == "2022" else set()
    return {
        c.code: 4 if c.code in changed else c.density_level for c in territory.geography(GEOGRAPHY).actuelles
    }


def _shares(territory: Territory, code: str, level: int, count: int) -> list[float]:
    """Share (%) of the commune's population living in grid cells of each of `count` levels:
    most in its own level, the rest in a neighbouring one."""
    shares = [0.0] * count
    own = 100.0 if level == 1 else round(random.Random(f"{territory.seed}-{SOURCE}-{code}").uniform(55, 100), 2)
    neighbour = level + 1 if level < count else level - 1
    shares[level - 1] = own
    if own < 100:
        shares[neighbour - 1] = round(100 - own, 2)
    return [int(s) if s in (0, 100) else s for s in shares]


def _seven_level_row(territory: Territory, commune: Commune, level: int) -> list:
    return [
        commune.code, commune.libelle, level, LEVEL_LABELS[level], commune.population,
        *_shares(territory, commune.code, level, 7),
    ]  # fmt: skip


def _revised_row(territory: Territory, commune: Commune, level: int, near_town: bool) -> list:
    three = three_levels(level)
    four = three if three < 3 else 3 if near_town else 4
    return [
        commune.code, commune.libelle, three, THREE_LEVEL_LABELS[three], commune.population,
        *_shares(territory, commune.code, three, 3), four, FOUR_LEVEL_LABELS[four], level, LEVEL_LABELS[level],
    ]  # fmt: skip


def _workbook_2022(territory: Territory) -> Workbook:
    book = Workbook()
    sheet = book.active
    sheet.title = "Grille_Densite"
    for title in SEVEN_LEVEL_TITLES:
        sheet.append([title])
    sheet.append(list(SEVEN_LEVEL_LABELS_ROW))
    sheet.append(list(SEVEN_LEVEL_HEADER))
    grid = levels(territory, "2022")
    for commune in territory.geography(GEOGRAPHY).actuelles:
        sheet.append(_seven_level_row(territory, commune, grid[commune.code]))
    documentation = book.create_sheet("Documentation")
    for line in DOCUMENTATION:
        documentation.append([line])
    return book


def _workbook_2025(territory: Territory) -> Workbook:
    book = Workbook()
    sheet = book.active
    sheet.title = "Maille communale"
    for title in REVISED_TITLES:
        sheet.append([title])
    sheet.append(list(REVISED_LABELS_ROW))
    sheet.append(list(REVISED_HEADER))
    communes = territory.geography(GEOGRAPHY).actuelles
    grid = levels(territory, "2025")
    # Rural communes sharing an EPCI with an urban one count as périurbain in the 4-level grid.
    urban_epcis = {c.epci for c in communes if grid[c.code] <= 2}
    for commune in communes:
        sheet.append(_revised_row(territory, commune, grid[commune.code], commune.epci in urban_epcis))
    return book


def workbook_bytes(book: Workbook, modified: str) -> bytes:
    """The xlsx bytes of a workbook with fixed timestamps (document properties and zip entries)."""
    raw = io.BytesIO()
    book.save(raw)
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "docProps/core.xml":
                stamp = rb"\g<1>" + modified.encode() + rb"\g<2>"
                data = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)", stamp, data)
            target.writestr(zipfile.ZipInfo(item.filename, date_time=_ZIP_DATE), data, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def write(territory: Territory, dest: Path) -> list[str]:
    """Write the 2022 (7-level layout) and 2025 (revised layout) workbooks; returns their vintages."""
    books = {"2022": _workbook_2022(territory), "2025": _workbook_2025(territory)}
    for vintage, book in books.items():
        folder = Path(dest) / SOURCE / vintage
        folder.mkdir(parents=True, exist_ok=True)
        (folder / FILES[vintage]).write_bytes(workbook_bytes(book, MODIFIED[vintage]))
    return list(books)
