"""One indicator's map as a print-quality PNG or SVG (`territoires map`).

A choropleth of an indicator at one level and vintage over France (DROM in insets) or one
région or département: quantile classes in a colour-blind-safe sequential palette (viridis),
areas without a value hatched grey as "no data" (never drawn as zero), a legend with the
unit, a source line naming the sources, their vintages and the build, and on a sample
build a "sample data" mark across the map.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.atlas.data import LEVEL_LABELS, values_relation
from pipelines.atlas.projection import layout, projected_sql
from pipelines.sources.catalogue import CatalogueError, get_source

CLASSES = 5
NO_DATA = "Pas de donnée"
SAMPLE_MARK = "DONNÉES D'EXEMPLE — territoire fictif"


class MapError(ValueError):
    """The map asked for cannot be drawn (unknown indicator, level, vintage or area; bad file name)."""


@dataclass(frozen=True)
class MapRequest:
    indicator: str
    level: str = "commune"
    vintage: str | None = None
    region: str | None = None
    departement: str | None = None


@dataclass(frozen=True)
class MapReport:
    path: Path
    title: str
    legend: list[str]
    areas: int
    no_data: int
    vintage: str


def draw_map(warehouse: Path, request: MapRequest, out: Path) -> MapReport:
    """Draw the map to out (.png or .svg)."""
    out = Path(out)
    if out.suffix.lower() not in (".png", ".svg"):
        raise MapError(f"{out.name}: the map is written as .png or .svg")
    if not Path(warehouse).exists():
        raise MapError(f"no published warehouse at {warehouse}; run `territoires build` (or `territoires demo`) first")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        con.execute("load spatial")
        spec = _indicator(con, request)
        vintage = _vintage(con, request, spec)
        area_filter, communes, area_label = _area(con, request)
        frames = layout(con, communes)
        if not frames.frames:
            raise MapError("geo.shapes has no commune polygon: load etalab_contours (or commune_locations with contours) and rebuild")
        rows = con.execute(
            f"""
            select st_asgeojson(s.geometry), v.value
            from ({projected_sql(request.level, frames.frames, area_filter)}) as s
            left join ({values_relation([request.level])}) as v
                   on v.code = s.code and v.indicator_id = ? and v.vintage = ? and v.level = ?
            """,
            [request.indicator, vintage, request.level],
        ).fetchall()
        about = con.execute("select build_id, sample_data from meta.about").fetchone()
        source_vintages = con.execute(
            "select string_agg(distinct source_vintages, '; ') from indicators.long where indicator_id = ? and vintage = ? and level = ?",
            [request.indicator, vintage, request.level],
        ).fetchone()[0]
    if not rows:
        raise MapError(f"no {request.level} polygon in {area_label}")
    title = f"{spec['label']} — {LEVEL_LABELS[request.level][0].lower()}, {vintage}"
    subtitle = area_label
    sources = _source_line(spec["sources"], source_vintages, about[0])
    legend = _render(rows, frames, title, subtitle, spec["unit"], sources, bool(about[1]), out)
    no_data = sum(1 for _, value in rows if value is None)
    return MapReport(path=out, title=title, legend=legend, areas=len(rows), no_data=no_data, vintage=vintage)


def _indicator(con: duckdb.DuckDBPyConnection, request: MapRequest) -> dict:
    row = con.execute(
        "select label_fr, unit, sources, levels, formula from indicators.catalogue where indicator_id = ?", [request.indicator]
    ).fetchone()
    if row is None:
        known = [r[0] for r in con.execute("select indicator_id from indicators.catalogue order by 1").fetchall()]
        raise MapError(f"unknown indicator '{request.indicator}'; known: {', '.join(known)}")
    label, unit, sources, levels, formula = row
    levels = ["commune"] if formula == "category" else list(levels or [])
    if request.level not in LEVEL_LABELS:
        raise MapError(f"unknown level '{request.level}'; levels with maps: {', '.join(LEVEL_LABELS)}")
    if request.level not in levels:
        raise MapError(f"{request.indicator} has no values at level {request.level}; its levels: {', '.join(sorted(levels))}")
    return {"label": label, "unit": unit, "sources": [s.strip() for s in (sources or "").split(",") if s.strip()]}


def _vintage(con: duckdb.DuckDBPyConnection, request: MapRequest, spec: dict) -> str:
    vintages = [
        r[0]
        for r in con.execute(
            f"select distinct vintage from ({values_relation([request.level])}) where indicator_id = ? order by 1",
            [request.indicator],
        ).fetchall()
    ]
    if not vintages:
        raise MapError(f"{request.indicator} has no value at level {request.level}")
    if request.vintage is None:
        return vintages[-1]
    if request.vintage not in vintages:
        raise MapError(f"{request.indicator} has no vintage {request.vintage} at level {request.level}; vintages: {', '.join(vintages)}")
    return request.vintage


def _area(con: duckdb.DuckDBPyConnection, request: MapRequest) -> tuple[str, str, str]:
    """SQL conditions on geo.shapes' code for the level's areas and for the communes in the
    chosen région or département (whose frame the map is drawn in), and the area's name."""
    if request.region and request.departement:
        raise MapError("give --region or --departement, not both")
    if not (request.region or request.departement):
        return "true", "true", "France"
    kind, code = ("region", request.region) if request.region else ("departement", request.departement)
    name = con.execute(f"select {kind}_name from geo.{kind} where {kind}_code = ?", [code]).fetchone()
    if name is None:
        known = [r[0] for r in con.execute(f"select {kind}_code from geo.{kind} order by 1").fetchall()]
        raise MapError(f"unknown {kind} '{code}'; known: {', '.join(known)}")
    # the code was found in geo.<kind> through a bound parameter: it is one of its codes
    def within(key: str) -> str:
        return f"s.code in (select {key} from geo.commune where {kind}_code = '{code}')"

    key = "commune_code" if request.level == "commune" else f"{request.level}_code"
    return within(key), within("commune_code"), f"{name[0]} ({code})"


def _source_line(source_ids: list[str], source_vintages: str | None, build_id: str) -> str:
    names = []
    for source in source_ids:
        try:
            names.append(get_source(source).attribution or source)
        except CatalogueError:  # a source gone from the catalogue is still named
            names.append(source)
    vintages = f" ({source_vintages})" if source_vintages else ""
    return f"Sources : {'; '.join(names)}{vintages}. territoires, build {build_id}."


def quantile_breaks(values: list[float], classes: int = CLASSES) -> list[float]:
    """Class bounds (classes + 1 values, distinct) at the quantiles of the values."""
    ordered = sorted(values)
    if not ordered:
        return []
    bounds = [ordered[min(len(ordered) - 1, round(i * (len(ordered) - 1) / classes))] for i in range(classes + 1)]
    return sorted(set(bounds))


def _format(value: float) -> str:
    text = f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    return text.replace(",", " ").replace(".", ",")


def _render(rows, frames, title: str, subtitle: str, unit: str, sources: str, sample: bool, out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Patch, PathPatch, Rectangle
    from matplotlib.path import Path as MplPath

    plt.rcParams["svg.fonttype"] = "none"  # titles and legend stay text in the SVG
    values = [value for _, value in rows if value is not None]
    breaks = quantile_breaks(values)
    palette = matplotlib.colormaps["viridis"].reversed()
    classes = max(len(breaks) - 1, 1)
    colours = [palette(i / max(classes - 1, 1)) for i in range(classes)]

    def colour(value: float):
        for i in range(classes):
            if value <= breaks[i + 1]:
                return colours[i]
        return colours[-1]

    drawn, missing, fills = [], [], []
    for geojson, value in rows:
        path = _path(json.loads(geojson), MplPath)
        if path is None:
            continue
        if value is None:
            missing.append(PathPatch(path))
        else:
            drawn.append(PathPatch(path))
            fills.append(colour(value))
    figure, axes = plt.subplots(figsize=(11, 9))
    axes.set_aspect("equal")
    axes.axis("off")
    edge = 0.1 if len(rows) > 3000 else 0.3
    if drawn:
        axes.add_collection(PatchCollection(drawn, facecolors=fills, edgecolors="white", linewidths=edge))
    if missing:
        axes.add_collection(PatchCollection(missing, facecolors="#e6e6e6", edgecolors="#9a9a9a", hatch="////", linewidths=edge))
    for inset in frames.insets:  # frames in the drawing's units, y downward there: flip
        axes.add_patch(Rectangle((inset["x"], -inset["y"] - inset["h"]), inset["w"], inset["h"], fill=False, edgecolor="#777777", linewidth=0.6))
        axes.text(inset["x"], -inset["y"] - inset["h"] - 40, inset["label"], fontsize=7, va="top", color="#444444")
    xs = [f.x for f in frames.frames] + [f.x + f.w for f in frames.frames]
    ys = [-f.y for f in frames.frames] + [-f.y - f.h for f in frames.frames]
    margin = 0.03 * max(max(xs) - min(xs), max(ys) - min(ys))
    axes.set_xlim(min(xs) - margin, max(xs) + margin)
    axes.set_ylim(min(ys) - margin, max(ys) + margin)
    figure.suptitle(title, fontsize=14, fontweight="bold", x=0.02, ha="left")
    axes.set_title(subtitle, fontsize=10, loc="left", color="#444444")
    labels = [f"{_format(breaks[i])} – {_format(breaks[i + 1])}" for i in range(len(breaks) - 1)] if len(breaks) > 1 else (
        [_format(breaks[0])] if breaks else [])  # fmt: skip
    handles = [Patch(facecolor=colours[i], edgecolor="none", label=label) for i, label in enumerate(labels)]
    handles.append(Patch(facecolor="#e6e6e6", edgecolor="#9a9a9a", hatch="////", label=NO_DATA))
    axes.legend(handles=handles, title=unit, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, title_fontsize=9, frameon=False)
    figure.subplots_adjust(left=0.02, right=0.78, top=0.9, bottom=0.07)
    figure.text(0.02, 0.015, sources, fontsize=7, color="#555555", wrap=True)
    if sample:
        figure.text(0.5, 0.5, SAMPLE_MARK, fontsize=26, color="#c0392b", alpha=0.25, ha="center", va="center", rotation=30)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial{out.suffix}")
    figure.savefig(partial, dpi=200 if out.suffix.lower() == ".png" else 72, format=out.suffix.lower()[1:])
    plt.close(figure)
    partial.replace(out)
    return labels + [NO_DATA]


def _path(geometry: dict, MplPath):
    """A matplotlib compound path of a (multi)polygon: every ring, holes included."""
    polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else (
        [geometry["coordinates"]] if geometry["type"] == "Polygon" else [])  # fmt: skip
    vertices, codes = [], []
    for polygon in polygons:
        for ring in polygon:
            if len(ring) < 3:
                continue
            vertices += ring
            codes += [MplPath.MOVETO] + [MplPath.LINETO] * (len(ring) - 2) + [MplPath.CLOSEPOLY]
    return MplPath(vertices, codes) if vertices else None
