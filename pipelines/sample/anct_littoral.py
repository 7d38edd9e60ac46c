"""Sample of anct_littoral: the loi Littoral communes of the sample territory, as the DGALN workbook.

:func:`write` writes ``dgaln-icapp-sidauh-opendata-loi-littoral-1986-cog-2022.xlsx``: one sheet
``Perimetre``, a title row and an empty row above the header INSEE_COM, NOM_COM, CLASSEMENT
(codes as text), one row per commune listed, by code. The territory has no 2022 geography:
its 2025 communes stand in for those of the COG 2022.

The story, by the position of the town hall in its département's box (the communes are
drawn in the ellipse inscribed in it):

* 2A and 974 (islands): the communes of the outer ring of the ellipse (at least
  :data:`RING` of the way from its centre to its edge) border the sea ("Mer"), and so does
  the chef-lieu 2A004 (a port);
* 83: the communes of the southern third of the box (its coast) border the sea ("Mer"),
  the rest of the département is its hinterland; the northernmost commune of 83 borders a
  large lake ("Lac");
* 69 and 71: no commune.
"""

from __future__ import annotations

import math
from pathlib import Path

from openpyxl import Workbook

from pipelines.sample.insee_density_grid import workbook_bytes
from pipelines.sample.territory import Commune, Territory

SOURCE = "anct_littoral"
VINTAGE = "2022"
GEOGRAPHY = "2025"
FILE_NAME = "dgaln-icapp-sidauh-opendata-loi-littoral-1986-cog-2022.xlsx"
SHEET = "Perimetre"
TITLE = "Communes littorales au sens de la loi du 3 janvier 1986 (COG 2022) — données fictives"
HEADER = ("INSEE_COM", "NOM_COM", "CLASSEMENT")
RING = 0.8
ISLANDS = ("2A", "974")
PORTS = ("2A004",)
COAST_DEPARTEMENT = "83"
MODIFIED = "2022-03-23T10:24:32Z"


def on_coast(territory: Territory, commune: Commune) -> bool:
    """Whether a commune of 83 lies in the southern third of its box (the Var coast)."""
    bounds = next(d.bounds for d in territory.departements if d.code == commune.departement)
    _, _, lat_min, lat_max = bounds
    return commune.lat < lat_min + (lat_max - lat_min) / 3


def classifications(territory: Territory) -> dict[str, str]:
    """CLASSEMENT of every commune listed, by code (see the module's story)."""
    communes = territory.geography(GEOGRAPHY).actuelles
    boxes = {d.code: d.bounds for d in territory.departements}
    listed = {}
    for commune in communes:
        if commune.departement in ISLANDS and (commune.code in PORTS or _ring(commune, boxes[commune.departement]) >= RING):
            listed[commune.code] = "Mer"
        elif commune.departement == COAST_DEPARTEMENT and on_coast(territory, commune):
            listed[commune.code] = "Mer"
    var = [c for c in communes if c.departement == COAST_DEPARTEMENT]
    lake_side = max(var, key=lambda c: (c.lat, c.code))
    listed[lake_side.code] = "Lac"
    return dict(sorted(listed.items()))


def write(territory: Territory, dest: Path) -> list[str]:
    """Write the workbook of the COG 2022 list; returns ["2022"]."""
    names = {c.code: c.libelle for c in territory.geography(GEOGRAPHY).actuelles}
    book = Workbook()
    sheet = book.active
    sheet.title = SHEET
    sheet.append([TITLE])
    sheet.append([])
    sheet.append(list(HEADER))
    for code, label in classifications(territory).items():
        sheet.append([code, names[code], label])
    folder = Path(dest) / SOURCE / VINTAGE
    folder.mkdir(parents=True, exist_ok=True)
    (folder / FILE_NAME).write_bytes(workbook_bytes(book, MODIFIED))
    return [VINTAGE]


def _ring(commune: Commune, bounds: tuple[float, float, float, float]) -> float:
    """How far a town hall is from the centre of the box's inscribed ellipse (0 the centre, 1 its edge)."""
    lon_min, lon_max, lat_min, lat_max = bounds
    u = (commune.lon - (lon_min + lon_max) / 2) / ((lon_max - lon_min) / 2)
    v = (commune.lat - (lat_min + lat_max) / 2) / ((lat_max - lat_min) / 2)
    return math.hypot(u, v)
