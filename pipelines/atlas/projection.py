"""geo.shapes in the drawing's coordinates: metropolitan France, the DROM beside it in insets.

Each territory (metropolitan France, each DROM) is projected on its own: longitudes
scaled by the cosine of the territory's middle latitude (an equirectangular projection,
true to shape at the scale of a département), then fitted into its frame. Metropolitan
France gets MAIN_SIZE units on its longer side; each DROM a square inset of INSET_SIZE units,
stacked on the left. Coordinates are rounded to whole units (about 100 m on a map of
France), y grows downward, and each shape is handed over as an SVG path of relative moves:
the browser draws it with Path2D, and the commune layer of France stays a few megabytes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import duckdb

MAIN_SIZE = 10_000
INSET_SIZE = 1_900
GAP = 150
MAIN = "metro"


@dataclass(frozen=True)
class Frame:
    """Where one territory is drawn: the affine map from lon/lat and its box in the drawing."""

    territory: str
    label: str
    a: float  # x = a * lon + xoff
    e: float  # y = e * lat + yoff (y upward here; the SVG path flips it)
    xoff: float
    yoff: float
    x: float
    y: float
    w: float
    h: float


@dataclass(frozen=True)
class Layout:
    width: int
    height: int
    frames: tuple[Frame, ...]

    @property
    def insets(self) -> list[dict]:
        return [
            {"territory": f.territory, "label": f.label, "x": round(f.x), "y": round(f.y), "w": round(f.w), "h": round(f.h)}
            for f in self.frames
            if f.territory != MAIN
        ]


def layout(con: duckdb.DuckDBPyConnection, communes: str = "true") -> Layout:
    """The frames of the territories geo.shapes has, from the extents of its communes (those
    matching the SQL condition `communes` on geo.shapes' columns, e.g. a département's)."""
    rows = con.execute(
        f"""
        select s.territory, coalesce(any_value(d.departement_name), s.territory),
               min(st_xmin(s.geometry)), max(st_xmax(s.geometry)), min(st_ymin(s.geometry)), max(st_ymax(s.geometry))
        from geo.shapes as s
        left join geo.departement as d on d.departement_code = s.territory
        where s.level = 'commune' and ({communes})
        group by s.territory
        order by s.territory = 'metro' desc, s.territory
        """
    ).fetchall()
    if not rows:
        return Layout(0, 0, ())
    main, insets = rows[0], rows[1:]
    frames = []
    left = INSET_SIZE + GAP if insets else 0
    for index, (territory, label, x0, x1, y0, y1) in enumerate(rows):
        stretch = math.cos(math.radians((y0 + y1) / 2))
        width, height = max((x1 - x0) * stretch, 1e-9), max(y1 - y0, 1e-9)
        if index == 0:
            scale = MAIN_SIZE / max(width, height)
            box = (left, 0.0, width * scale, height * scale)
        else:
            scale = INSET_SIZE / max(width, height)
            slot = (index - 1) * (INSET_SIZE + GAP)
            # centred in its square slot
            box = (left - GAP - INSET_SIZE + (INSET_SIZE - width * scale) / 2, slot + (INSET_SIZE - height * scale) / 2,
                   width * scale, height * scale)  # fmt: skip
        bx, by, bw, bh = box
        frames.append(
            Frame(territory, label if territory != MAIN else "France métropolitaine",
                  a=scale * stretch, e=scale, xoff=bx - scale * stretch * x0, yoff=-by - scale * y1,
                  x=bx, y=by, w=bw, h=bh)  # fmt: skip
        )
    main_height = frames[0].h
    stacked = len(insets) * (INSET_SIZE + GAP) - GAP if insets else 0
    width = left + frames[0].w
    return Layout(math.ceil(width), math.ceil(max(main_height, stacked)), tuple(frames))


def frames_relation(frames: tuple[Frame, ...]) -> str:
    """The frames as a SQL VALUES relation (territory, a, e, xoff, yoff)."""
    rows = ", ".join(f"('{f.territory}', {f.a!r}, {f.e!r}, {f.xoff!r}, {f.yoff!r})" for f in frames)
    return f"(values {rows}) as frame(territory, a, e, xoff, yoff)"


def projected_sql(level: str, frames: tuple[Frame, ...], where: str = "true") -> str:
    """SQL of (code, territory, geometry) for one level, in the drawing's units (y upward, whole units)."""
    return f"""
        select s.code, s.territory,
               st_reduceprecision(st_affine(s.geometry, frame.a, 0, 0, frame.e, frame.xoff, frame.yoff), 1) as geometry
        from geo.shapes as s
        join {frames_relation(frames)} using (territory)
        where s.level = '{level}' and ({where})
    """


def svg_paths(con: duckdb.DuckDBPyConnection, level: str, frames: tuple[Frame, ...]) -> list[tuple[str, str]]:
    """(code, SVG path of relative moves in whole units, y downward) of every shape of a level, by code."""
    if not frames:
        return []
    return con.execute(
        f"""
        select code, path
        from (select code, st_assvg(geometry, true, 0) as path from ({projected_sql(level, frames)}))
        where path <> ''
        order by code
        """
    ).fetchall()
