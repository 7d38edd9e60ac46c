"""The loi Littoral workbook for the national territory.

The layout of :mod:`pipelines.sample.anct_littoral` (sheet Perimetre: a title row, an empty
row, the header INSEE_COM, NOM_COM, CLASSEMENT, codes as text), one row per commune listed
among the communes actuelles of geography 2025, by code: about 1,200 at scale 1.

Which communes, by the position of the town hall in its département's box (communes are
spread evenly over it), with the real coastlines as facts:

* in the coastal départements of :data:`SEA_SIDES`, the communes of the band along each
  side that faces the sea (the outer :data:`1 - EDGE` of the half-box) are "Mer"; on the
  islands and in the overseas départements but Guyane, every side faces the sea, with a
  wider band (:data:`ISLAND_EDGE`);
* in the estuary départements of :data:`ESTUARIES`, the communes of the band just inland of
  the sea band (:data:`ESTUARY_DEPTH`), near the middle of that side, are "Estuaire" (the
  Seine, the Loire, the Charente, the Gironde; the Eure has only its Seine estuary);
* around the large lakes of :data:`LAKES` (their place in the box), the communes within
  :data:`LAKE_RADIUS` are "Lac".
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.sample.anct_littoral import FILE_NAME, GEOGRAPHY, HEADER, MODIFIED, SHEET, TITLE, VINTAGE
from pipelines.sample.national._xlsx import Sheet, write_workbook
from pipelines.sample.national.common import sql_text, vintage_dir
from pipelines.sample.national.facts import DEPARTEMENTS
from pipelines.sample.national.territory import NationalTerritory

SOURCE = "anct_littoral"
# The sides of its box a département's coast runs along (N, S, E, W); "*": every side (islands).
SEA_SIDES = {
    "59": "N", "62": "NW", "80": "W", "76": "N", "14": "N", "50": "NW", "35": "N", "22": "N", "29": "NWS",
    "56": "S", "44": "W", "85": "W", "17": "W", "33": "W", "40": "W", "64": "W", "66": "E", "11": "E", "34": "S",
    "30": "S", "13": "S", "83": "S", "06": "S", "2A": "*", "2B": "*", "971": "*", "972": "*", "973": "N",
    "974": "*", "976": "*",
}  # fmt: skip
# The side an estuary opens on, by département (the Eure has no sea coast, only the Seine's estuary).
ESTUARIES = {"76": "N", "27": "N", "14": "N", "44": "W", "17": "W", "33": "W"}
# Large lakes (over 1,000 ha) by département: their place in the box, from -1 to 1 (west/south) to (east/north).
LAKES = {
    "74": [(0.2, 0.95), (0.0, -0.1)], "73": [(-0.6, 0.1)], "05": [(0.1, -0.6)], "04": [(-0.3, -0.7)],
    "83": [(-0.5, 0.9)], "10": [(0.5, 0.4)], "51": [(0.7, -0.8)], "12": [(0.3, 0.2)],
}  # fmt: skip
EDGE = 0.84  # of the half-box from the centre: the sea band is what lies beyond
ISLAND_EDGE = 0.7
ESTUARY_DEPTH = 0.14  # of the half-box, inland of the sea band
ESTUARY_WIDTH = 0.4  # of the half-box, either side of the middle of the side
LAKE_RADIUS = 0.12  # of the half-box


def write(territory: NationalTerritory, con: duckdb.DuckDBPyConnection, dest: Path) -> list[str]:
    """Write the workbook of the COG 2022 list; returns ["2022"]."""
    sheet = Sheet(SHEET, [(TITLE,), (), HEADER], littoral_query(), "code")
    write_workbook(con, vintage_dir(dest, SOURCE, VINTAGE) / FILE_NAME, [sheet], creator="DGALN", modified=MODIFIED)
    return [VINTAGE]


def littoral_query() -> str:
    """The communes listed: code (INSEE_COM), name (NOM_COM) and label (CLASSEMENT)."""
    boxes = ", ".join(f"({sql_text(code)}, {lon}, {lat}, {half_w}, {half_h})" for code, _, _, _, lon, lat, half_w, half_h in DEPARTEMENTS)
    sides = ", ".join(f"({sql_text(code)}, {sql_text(value)})" for code, value in SEA_SIDES.items())
    estuaries = ", ".join(f"({sql_text(code)}, {sql_text(side)})" for code, side in ESTUARIES.items())
    lakes = ", ".join(f"({sql_text(code)}, {u}, {v})" for code, places in LAKES.items() for u, v in places)
    edge = f"case when sides = '*' then {ISLAND_EDGE} else {EDGE} end"
    inland = f"{EDGE - ESTUARY_DEPTH}"
    return f"""
        with boxes(departement, lon0, lat0, half_w, half_h) as (values {boxes}),
        sides(departement, sides) as (values {sides}),
        estuaries(departement, side) as (values {estuaries}),
        lakes(departement, lake_u, lake_v) as (values {lakes}),
        placed as (
            select c.code, c.libelle, c.departement, coalesce(s.sides, '') as sides,
                   (c.lon - b.lon0) / b.half_w as u, (c.lat - b.lat0) / b.half_h as v
            from actuelles c join boxes b using (departement) left join sides s using (departement)
            where c.vintage = '{GEOGRAPHY}'
        ),
        labelled as (
            select code, libelle,
                case
                    when (sides = '*' and greatest(abs(u), abs(v)) >= {edge})
                      or (sides like '%N%' and v >= {EDGE}) or (sides like '%S%' and v <= -{EDGE})
                      or (sides like '%E%' and u >= {EDGE}) or (sides like '%W%' and u <= -{EDGE}) then 'Mer'
                    when exists (
                        select 1 from estuaries e where e.departement = placed.departement and case e.side
                            when 'N' then v >= {inland} and abs(u) <= {ESTUARY_WIDTH}
                            when 'S' then v <= -{inland} and abs(u) <= {ESTUARY_WIDTH}
                            when 'E' then u >= {inland} and abs(v) <= {ESTUARY_WIDTH}
                            else u <= -{inland} and abs(v) <= {ESTUARY_WIDTH} end
                    ) then 'Estuaire'
                    when exists (
                        select 1 from lakes l where l.departement = placed.departement
                          and sqrt(power(u - l.lake_u, 2) + power(v - l.lake_v, 2)) <= {LAKE_RADIUS}
                    ) then 'Lac'
                end as label
            from placed
        )
        select code, libelle, label from labelled where label is not null
    """
