"""Etalab's communes-100m.geojson.gz of each geography vintage, for the national territory.

The Voronoi contours of :mod:`pipelines.sample._contours` (each town hall's cell, cut to a
disc of 0.15° around it), with Etalab's properties (code, nom, departement, region, epci),
one feature per commune actuelle, by code. Streamed to the gzip file in blocks of features.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import duckdb

from pipelines.sample._contours import cells_query
from pipelines.sample.etalab_contours import FILE_NAME
from pipelines.sample.national.common import vintage_dir
from pipelines.sample.national.territory import GEOGRAPHY_VINTAGES, NationalTerritory

SOURCE = "etalab_contours"
REACH = 0.15
BLOCK = 5_000


def write(territory: NationalTerritory, con: duckdb.DuckDBPyConnection, dest: Path) -> list[str]:
    """Write communes-100m.geojson.gz of every geography vintage; returns the vintages."""
    con.execute("load spatial")
    for vintage in GEOGRAPHY_VINTAGES:
        points = f"select code, lon, lat from actuelles where vintage = '{vintage}'"
        properties = "struct_pack(code := a.code, nom := a.libelle, departement := a.departement, region := a.region, epci := a.epci)"
        cursor = con.execute(
            f"""
            select '{{"type":"Feature","properties":' || to_json({properties}) || ',"geometry":' || st_asgeojson(c.geom) || '}}'
            from actuelles as a join ({cells_query(points, REACH)}) as c using (code)
            where a.vintage = '{vintage}'
            order by a.code
            """
        )
        path = vintage_dir(dest, SOURCE, vintage) / FILE_NAME
        partial = path.with_name(f".{path.name}.partial")
        with gzip.GzipFile(partial, "wb", mtime=0) as out:
            out.write(b'{"type":"FeatureCollection","features":[\n')
            separator = ""
            while rows := cursor.fetchmany(BLOCK):
                out.write((separator + ",\n".join(line for (line,) in rows)).encode("utf-8"))
                separator = ",\n"
            out.write(b"\n]}\n")
        partial.replace(path)
    return list(GEOGRAPHY_VINTAGES)
