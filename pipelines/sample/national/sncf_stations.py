"""SNCF's "Liste des gares" for the national territory.

liste-des-gares.csv (2026), in the layout of :mod:`pipelines.sample.sncf_stations` (`;`,
UTF-8, SNCF's export with labels), one row per passenger station of the territory's
`stations` view (every town of 20,000 inhabitants or more, a share of the smaller
communes, none overseas: about 2,900 at scale 1), by UIC code. Each station stands on one
line of its département (a main line for the national stations, another for the
regional ones, a third for the local halts) at a point kilometre drawn along it; 30 % of
them also handle freight. The commune and département are named in upper case without
accents, as SNCF writes them; coordinates are given in Lambert 93 and WGS84.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.sample.national.common import vintage_dir
from pipelines.sample.national.territory import NationalTerritory
from pipelines.sample.sncf_stations import FILE_NAME, HEADER, VINTAGE

SOURCE = "sncf_stations"
FREIGHT_SHARE = 0.3
LAMBERT_93 = 2154


def write(territory: NationalTerritory, con: duckdb.DuckDBPyConnection, dest: Path) -> list[str]:
    """Write liste-des-gares.csv for 2026; returns ["2026"]."""
    path = vintage_dir(dest, SOURCE, VINTAGE) / FILE_NAME
    con.execute(f"copy ({stations_query()}) to '{path}' (format csv, header, delimiter ';')")
    return [VINTAGE]


def stations_query() -> str:
    """The rows of the list, every column of HEADER in its order, by UIC code."""
    columns = {
        "CODE_UIC": "uic",
        "LIBELLE": "commune_name",
        "FRET": f"if(rnd(uic, 'freight') < {FREIGHT_SHARE}, 'O', 'N')",
        "VOYAGEURS": "'O'",
        "CODE_LIGNE": "lpad(cast(100 + rnd_int(departement, 'line-' || kind, 900) as varchar), 3, '0') || '000'",
        "RG_TRONCON": "'1'",
        "PK": "lpad(cast(pk // 1000 as varchar), 3, '0') || '+' || lpad(cast(pk % 1000 as varchar), 3, '0')",
        "COMMUNE": "upper(strip_accents(commune_name))",
        "DEPARTEMEN": "upper(strip_accents(departement_name))",
        "IDRESEAU": "cast(100000 + rnd_int(uic, 'idreseau', 900000) as varchar)",
        "IDGAIA": (
            "substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-4' || substr(h, 14, 3) || '-' "
            "|| substr('89ab', 1 + rnd_int(uic, 'gaia-variant', 4), 1) || substr(h, 18, 3) || '-' || substr(h, 21, 12)"
        ),
        "X_L93": f"printf('%.1f', proj_x(lon, lat, {LAMBERT_93}))",
        "Y_L93": f"printf('%.1f', proj_y(lon, lat, {LAMBERT_93}))",
        "X_WGS84": "x",
        "Y_WGS84": "y",
        "C_GEO": "y || ', ' || x",
        "GEO_POINT": "y || ', ' || x",
        "GEO_SHAPE": """'{"coordinates": [' || x || ', ' || y || '], "type": "Point"}'""",
    }
    return f"""
        select {', '.join(f'{columns[name]} as {name}' for name in HEADER)}
        from (
            select s.*, d.nom as departement_name,
                   cast(round(s.lon, 6) as varchar) as x, cast(round(s.lat, 6) as varchar) as y,
                   rnd_int(s.uic, 'pk', 600000) as pk,
                   md5(s.uic || ':' || rnd(s.uic, 'gaia')) as h
            from stations s join departements d on d.code = s.departement
        )
        order by uic
    """
