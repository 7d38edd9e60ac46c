"""Sample of anct_zrr: the ZRR classification of the sample territory, as the Observatoire's workbook.

:func:`write` writes diffusion-zonages-zrr-cog2021.xls as published: an Excel 97-2003
workbook with the sheets "Classement ZRR (COG 2021)", "Classement ZRR (COG 2017)" (the
2017 wording of the labels), Documentation and Métadonnées, text cells only, written by
:mod:`pipelines.sample._xls`. :func:`write_csv_export` writes the CSV export
of the COG 2021 sheet, the layout a file ingested by hand has.

The fictitious territory has no 2021 geography: its 2025 communes stand in for those of the
COG 2021 file. The story, decided for whole EPCI as the 2017 arrêté did:

* the communes of rural EPCI (mean density level at least :data:`ZRR_EPCI_LEVEL`) are
  classified ("C"), except their urban centres (density levels 1 and 2);
* the commune nouvelle of 2017 in Saône-et-Loire (the one with communes déléguées) is only
  partially classified ("P"), and so are the communes of the Hauts of La Réunion (density
  level 4 or more in 974);
* every other commune is not classified ("NC"), the Lyon-style city 69123 among them.

:func:`zrr_classes` is shared with the FRR sample, which replaced the ZRR in 2024.
"""

from __future__ import annotations

import csv
import io
import random
from collections import defaultdict
from pathlib import Path

from pipelines.sample._xls import workbook_bytes
from pipelines.sample.territory import COMMUNE_DELEGUEE, Geography, Territory

SOURCE = "anct_zrr"
VINTAGE = "2021"
GEOGRAPHY = "2025"
FILE_NAME = "diffusion-zonages-zrr-cog2021.xls"
CSV_EXPORT_NAME = "diffusion-zonages-zrr-cog2021.csv"
ZRR_EPCI_LEVEL = 5.4

SIMPLE_LABELS = {
    "C": "C - Classée en ZRR",
    "P": "P - Commune partiellement classée en ZRR",
    "NC": "NC - Commune non classée",
}
DETAIL_LABELS = {
    "C": "C - Commune classée en ZRR",
    "A": "A - Commune sortante en 2017 continuant de bénéficier des effets du classement depuis 2018",
    "M": "M - Commune sortante en 2017 classée en zone de montagne continuant de bénéficier des effets "
    "du classement depuis 2017",
    "P": "P - Commune partiellement classée en ZRR",
    "NC": "NC - Commune non classée",
}
# The 2017 sheet words the labels differently.
SIMPLE_LABELS_2017 = {"C": "C - Classée en ZRR", "P": "P - Partiellement classée en ZRR", "NC": "NC - Non classée"}
DETAIL_LABELS_2017 = {
    "C": "C - Classée en ZRR",
    "A": "A - Sortante en 2017 continuant de bénéficier des effets du classement depuis 2018",
    "M": "M - Sortante en 2017 classée en zone de montagne continuant de bénéficier des effets du classement "
    "depuis 2017",
    "P": "P - Partiellement classée en ZRR",
    "NC": "NC - Non classée",
}
TITLE_LINES = (
    "Champ : France métropolitaine et DOM",
    "Géographie : Communes, au 1er janvier 2021",
    "Source : ANCT, arrêté du 16 mars 2017, modifié par le décret du 22 février 2018, "
    "ANCT-Observatoire des territoires pour la conversion en COG 2021",
    "",
)
TITLE_LINES_2017 = (
    "Champ : France entière",
    "Géographie : Communes, au 1er janvier 2017",
    "Source : ANCT, arrêté du 16 mars 2017, modifié par le décret du 22 février 2018",
    "",
)
DOCUMENTATION = [
    ["", ""],
    ["", "Définition"],
    ["", "Les zones de revitalisation rurale (ZRR) visent à aider le développement des territoires ruraux "
     "principalement à travers des mesures fiscales et sociales. (Données fictives : territoire d'exemple.)"],
]  # fmt: skip
METADATA = [
    ["Métadonnées", ""], ["", ""], ["IDENTIFICATION DES DONNEES", ""],
    ["identifiant", "Diffusion-zonages-ZRR-cog2021"], ["format", "xls"], ["millésime", "2021 et 2017"], ["auteur", "Observatoire des territoires, ANCT"],
    ["licence", "Licence Ouverte Version 2.0 – Etalab"],
]  # fmt: skip
FRENCH_HEADER = ("Code Insee", "Libellé de la commune", "Classement en ZRR", "Modalités du zonage en ZRR")
CODE_HEADER = ("CODGEO", "LIBGEO", "ZRR_SIMP", "ZONAGE_ZRR")
# The export ends with empty rows, as the real one does.
TRAILING_EMPTY_ROWS = 3


def epci_mean_levels(geography: Geography) -> dict[str, float]:
    """Mean density level of the member communes of each EPCI."""
    levels: dict[str, list[int]] = defaultdict(list)
    for commune in geography.actuelles:
        levels[commune.epci].append(commune.density_level)
    return {epci: sum(values) / len(values) for epci, values in levels.items()}


def commune_nouvelle_2017(geography: Geography) -> str:
    """Code of the commune that has had communes déléguées since 2017 (the only one in 2025)."""
    parents = sorted({c.parent for c in geography.communes if c.type == COMMUNE_DELEGUEE and c.parent})
    return parents[0]


def zrr_classes(territory: Territory) -> dict[str, str]:
    """ZRR status of every 2025 commune: 'C', 'P' or 'NC' (see the module's story)."""
    geography = territory.geography(GEOGRAPHY)
    rural_epci = {epci for epci, level in epci_mean_levels(geography).items() if level >= ZRR_EPCI_LEVEL}
    partial = commune_nouvelle_2017(geography)
    classes = {}
    for commune in geography.actuelles:
        if commune.code == partial or (commune.departement == "974" and commune.density_level >= 4):
            classes[commune.code] = "P"
        elif commune.epci in rural_epci and commune.density_level > 2:
            classes[commune.code] = "C"
        else:
            classes[commune.code] = "NC"
    return classes


def _detail(territory: Territory, code: str, departement: str, level: int, status: str) -> str:
    """The detailed modality's code: some classified communes only keep the benefit of 2017."""
    if status != "C":
        return status
    draw = random.Random(f"{territory.seed}-{SOURCE}-{code}").random()
    if departement == "2A" and level == 7 and draw < 0.5:
        return "M"
    return "A" if draw < 0.2 else "C"


def classification_rows(territory: Territory, cog: str = VINTAGE) -> list[list[str]]:
    """The rows of the sheet "Classement ZRR (COG <cog>)" (2021 or 2017), title rows and headers first."""
    titles, simple, detail = (
        (TITLE_LINES, SIMPLE_LABELS, DETAIL_LABELS) if cog == VINTAGE
        else (TITLE_LINES_2017, SIMPLE_LABELS_2017, DETAIL_LABELS_2017)
    )  # fmt: skip
    classes = zrr_classes(territory)
    rows = [[title, "", "", ""] for title in titles] + [list(FRENCH_HEADER), list(CODE_HEADER)]
    for commune in territory.geography(GEOGRAPHY).actuelles:
        status = classes[commune.code]
        modality = _detail(territory, commune.code, commune.departement, commune.density_level, status)
        rows.append([commune.code, commune.libelle, simple[status], detail[modality]])
    return rows


def write(territory: Territory, dest: Path) -> list[str]:
    """Write the workbook with the 2021 (and 2017) ZRR lists, on the 2025 sample communes; returns ["2021"]."""
    sheets = [
        ("Classement ZRR (COG 2021)", classification_rows(territory, "2021")),
        ("Classement ZRR (COG 2017)", classification_rows(territory, "2017")),
        ("Documentation", DOCUMENTATION),
        ("Métadonnées", METADATA),
    ]
    folder = Path(dest) / SOURCE / VINTAGE
    folder.mkdir(parents=True, exist_ok=True)
    (folder / FILE_NAME).write_bytes(workbook_bytes(sheets))
    return [VINTAGE]


def write_csv_export(territory: Territory, path: Path) -> Path:
    """Write the CSV export of the COG 2021 sheet (every field quoted, LF, empty rows at the end)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerows(classification_rows(territory, VINTAGE))
    writer.writerows([["", "", "", ""]] * TRAILING_EMPTY_ROWS)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_bytes(buffer.getvalue().encode("utf-8"))
    return Path(path)
