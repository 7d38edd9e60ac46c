"""Fictitious commune contours: the Voronoi cell of each town hall, cut to a disc around it.

The bundled sample and the national sample both draw their communes' polygons this way, in
DuckDB spatial: neighbouring communes share their edges (a coverage, as IGN's are), and a
commune far from the others (an island, the DROM) gets a disc of radius `reach` degrees.
"""

from __future__ import annotations

import duckdb

COORDINATE_DIGITS = 5  # about a metre: what Etalab's files carry


def cells_query(points: str, reach: float) -> str:
    """SQL of (code, geom) for every row of `points` (a relation with code, lon, lat)."""
    return f"""
        with pts as (
            select code, st_point(lon, lat) as point from ({points})
        ),
        diagram as (
            select unnest(st_dump(st_voronoidiagram(st_collect(list(point))))).geom as cell from pts
        ),
        owned as (
            select pts.code, pts.point, diagram.cell
            from pts join diagram on st_contains(diagram.cell, pts.point)
        )
        select code,
               st_reduceprecision(st_intersection(cell, st_buffer(point, {reach}, 6)), {10 ** -COORDINATE_DIGITS}) as geom
        from owned
    """


def feature_lines(con: duckdb.DuckDBPyConnection, points: str, reach: float, properties: str) -> list[str]:
    """One GeoJSON Feature per point (sorted by code); `properties` is a SQL struct of the row."""
    rows = con.execute(
        f"""
        select '{{"type":"Feature","properties":' || to_json({properties}) || ',"geometry":' || st_asgeojson(c.geom) || '}}'
        from ({points}) p join ({cells_query(points, reach)}) c using (code)
        order by p.code
        """
    ).fetchall()
    return [row[0] for row in rows]


def feature_collection(lines: list[str]) -> bytes:
    return ('{"type":"FeatureCollection","features":[\n' + ",\n".join(lines) + "\n]}\n").encode("utf-8")
