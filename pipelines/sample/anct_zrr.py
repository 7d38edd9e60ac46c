"""Sample of anct_zrr: the ZRR classification of the sample territory, as the Observatoire's workbook.

:func:`write` writes diffusion-zonages-zrr-cog2021.xls as published: an Excel 97-2003
workbook with the sheets "Classement ZRR (COG 2021)", "Classement ZRR (COG 2017)" (the
2017 wording of the labels), Documentation and Métadonnées, text cells only. No .xls
writer is among the dependencies, so the module writes the few BIFF8 records and the OLE2
container itself (:func:`workbook_bytes`). :func:`write_csv_export` writes the CSV export
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
import struct
from collections import defaultdict
from pathlib import Path

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


# ------------------------------------------------------------------ Excel 97-2003 (.xls) writer
# A BIFF8 workbook stream (BOF, one BOUNDSHEET per sheet, EOF, then per sheet BOF, DIMENSIONS,
# one LABEL per non-empty text cell, EOF) in an OLE2 compound file of 512-byte sectors.

_SECTOR = 512
_END_OF_CHAIN, _FAT_SECTOR, _FREE = 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
_MINI_STREAM_CUTOFF = 4096  # a smaller stream would have to go in the mini stream: it is padded instead


def workbook_bytes(sheets: list[tuple[str, list[list[str]]]]) -> bytes:
    """An .xls file holding the sheets [(name, rows of text cells)], in that order."""
    streams = [_sheet_stream(rows) for _, rows in sheets]
    globals_size = len(_bof(0x0005)) + sum(len(_boundsheet(0, name)) for name, _ in sheets) + len(_record(0x000A))
    offsets = [globals_size + sum(len(s) for s in streams[:i]) for i in range(len(streams))]
    workbook = _bof(0x0005) + b"".join(_boundsheet(o, name) for o, (name, _) in zip(offsets, sheets))
    return _compound_file(workbook + _record(0x000A) + b"".join(streams))


def _record(kind: int, data: bytes = b"") -> bytes:
    return struct.pack("<HH", kind, len(data)) + data


def _bof(substream: int) -> bytes:
    """BIFF8 beginning of the workbook globals (0x0005) or of a worksheet (0x0010)."""
    return _record(0x0809, struct.pack("<HHHHII", 0x0600, substream, 0x0DBB, 0x07CC, 0, 6))


def _utf16(text: str) -> tuple[int, bytes]:
    """A BIFF8 string's length, in UTF-16 code units (a character beyond U+FFFF counts two), and its bytes."""
    encoded = text.encode("utf-16-le")
    return len(encoded) // 2, encoded


def _boundsheet(offset: int, name: str) -> bytes:
    units, encoded = _utf16(name)
    return _record(0x0085, struct.pack("<IBBBB", offset, 0, 0, units, 1) + encoded)


def _sheet_stream(rows: list[list[str]]) -> bytes:
    width = max((len(row) for row in rows), default=0)
    cells = b"".join(
        _record(0x0204, struct.pack("<HHHHB", r, c, 0, units, 1) + encoded)
        for r, row in enumerate(rows) for c, text in enumerate(row) if text for units, encoded in [_utf16(text)]
    )  # fmt: skip
    dimensions = _record(0x0200, struct.pack("<IIHHH", 0, len(rows), 0, width, 0))
    return _bof(0x0010) + dimensions + cells + _record(0x000A)


def _compound_file(stream: bytes) -> bytes:
    """The OLE2 container: header, the "Workbook" stream, one directory sector, the FAT."""
    size = max(len(stream), _MINI_STREAM_CUTOFF)
    data = stream.ljust(-(-size // _SECTOR) * _SECTOR, b"\0")
    sectors = len(data) // _SECTOR
    fats = 1
    while fats * 128 < sectors + 1 + fats:
        fats += 1
    fat = [*range(1, sectors), _END_OF_CHAIN, _END_OF_CHAIN] + [_FAT_SECTOR] * fats
    fat += [_FREE] * (fats * 128 - len(fat))
    directory = (
        _directory_entry("Root Entry", 5, child=1, start=_END_OF_CHAIN, size=0)
        + _directory_entry("Workbook", 2, child=_FREE, start=0, size=size)
        + _directory_entry("", 0, child=_FREE, start=0, size=0) * 2
    )
    difat = [*range(sectors + 1, sectors + 1 + fats)] + [_FREE] * (109 - fats)
    header = (
        bytes.fromhex("D0CF11E0A1B11AE1") + bytes(16) + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + bytes(6)
        + struct.pack("<9I", 0, fats, sectors, 0, _MINI_STREAM_CUTOFF, _END_OF_CHAIN, 0, _END_OF_CHAIN, 0)
        + struct.pack("<109I", *difat)
    )  # fmt: skip
    return header + data + directory + struct.pack(f"<{len(fat)}I", *fat)


def _directory_entry(name: str, kind: int, *, child: int, start: int, size: int) -> bytes:
    encoded = (name + "\0").encode("utf-16-le") if name else b""
    return (
        encoded.ljust(64, b"\0") + struct.pack("<HBB", len(encoded), kind, 1 if name else 0)
        + struct.pack("<III", _FREE, _FREE, child) + bytes(36) + struct.pack("<IQ", start, size)
    )  # fmt: skip
