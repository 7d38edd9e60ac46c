"""The atlas and the maps: geo.shapes, the atlas's data files, `territoires atlas` and `territoires map`.

The pages themselves are tested in a real browser in test_atlas_browser.py.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import httpx
import pytest
from PIL import Image

from pipelines.atlas.image import MapError, MapRequest, draw_map
from pipelines.atlas.site import atlas_build_id, write_atlas

TERRITOIRES = str(Path(sys.executable).with_name("territoires"))
PAGES = ("index.html", "indicator.html", "programme.html", "portrait.html", "assets/atlas.js", "assets/atlas.css")


def _env(home) -> dict:
    return {**os.environ, "TERRITOIRES_HOME": str(home.root)}


def received(path) -> dict:
    """The payload of one of the atlas's data scripts (ATLAS.receive("key", payload);)."""
    text = path.read_text(encoding="utf-8")
    match = re.fullmatch(r'ATLAS\.receive\("([^"]+)", (.*)\);\n', text, flags=re.S)
    assert match, f"{path} is not an ATLAS.receive script"
    return json.loads(match.group(2))


def rows(warehouse, sql, params=()):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        con.execute("load spatial")
        return con.execute(sql, params).fetchall()


# ---------------------------------------------------------------------------- geo.shapes


def test_every_commune_has_a_polygon_and_the_levels_are_their_unions(sample_build):
    home, _ = sample_build
    missing = rows(home.warehouse, "select commune_code from geo.commune where commune_code not in (select code from geo.shapes where level = 'commune')")
    assert missing == []
    # a département's polygon covers its communes' polygons, and nothing else
    areas = rows(
        home.warehouse,
        """
        select d.code, st_area(d.geometry), sum(st_area(c.geometry))
        from geo.shapes as d
        join geo.commune as g on g.departement_code = d.code
        join geo.shapes as c on c.level = 'commune' and c.code = g.commune_code
        where d.level = 'departement'
        group by all
        """,
    )
    assert len(areas) == 5
    for code, whole, parts in areas:
        assert whole == pytest.approx(parts, rel=1e-6), code
    # neighbouring communes share their edges: simplified together, they do not overlap
    (overlap,) = rows(
        home.warehouse,
        """
        select coalesce(sum(st_area(st_intersection(a.geometry, b.geometry))), 0)
        from geo.shapes as a join geo.shapes as b
          on a.level = 'commune' and b.level = 'commune' and a.code < b.code and st_intersects(a.geometry, b.geometry)
        """,
    )[0]
    (total,) = rows(home.warehouse, "select sum(st_area(geometry)) from geo.shapes where level = 'commune'")[0]
    assert overlap < total * 1e-6
    assert rows(home.warehouse, "select distinct territory from geo.shapes order by 1") == [("974",), ("metro",)]
    assert rows(home.warehouse, "select distinct contour_source, contour_vintage from geo.shapes") == [("etalab_contours", "2026")]


# ---------------------------------------------------------------------------- the atlas's data


def test_the_build_writes_the_atlas_of_the_published_warehouse(sample_build):
    home, _ = sample_build
    (build_id,) = rows(home.warehouse, "select build_id from meta.about")[0]
    assert atlas_build_id(home.atlas) == build_id
    for page in PAGES:
        assert (home.atlas / page).is_file(), page
    meta = received(home.atlas / "data" / "meta.js")
    assert meta["build_id"] == build_id and meta["sample_data"] is True
    assert [lv["id"] for lv in meta["levels"]][:4] == ["region", "departement", "epci", "commune"]
    indicators = {i["id"]: i for i in meta["indicators"]}
    (france,) = rows(home.warehouse, "select value from indicators.long where indicator_id = 'population' and level = 'france' and vintage = '2026' and category is null")[0]
    assert indicators["population"]["france"]["2026"] == pytest.approx(france)
    assert indicators["density_level"]["levels"] == ["commune"] and len(indicators["density_level"]["categories"]) == 7
    for level in meta["levels"]:
        shapes = received(home.atlas / "data" / "shapes" / f"{level['id']}.js")
        assert len(shapes["features"]) == level["count"] > 0
        assert all(re.fullmatch(r"M[-0-9 lMz]+", path) for _, path in shapes["features"])
    assert [inset["label"] for inset in received(home.atlas / "data" / "shapes" / "commune.js")["insets"]] == ["La Réunion"]
    # the sources behind the figures, with their raw snapshots
    assert meta["sources"]["drees_apl"]["snapshots"] and all(len(s["sha256"]) == 64 for s in meta["sources"]["drees_apl"]["snapshots"])


def test_values_and_portraits_carry_the_warehouse_values_and_absent_ones_as_null(sample_build):
    home, _ = sample_build
    expected = dict(
        rows(home.warehouse, "select code, value from indicators.long where indicator_id = 'gp_apl' and level = 'commune' and vintage = '2023'")
    )
    values = received(home.atlas / "data" / "values" / "gp_apl.js")["levels"]["commune"]["2023"]
    assert {code: value for code, value, _ in values} == pytest.approx(expected)
    # a commune of 71 and its portrait: every value of indicators.long, rank among the communes of 71
    portrait = received(home.atlas / "data" / "portraits" / "commune" / "71.js")["units"]
    code = sorted(portrait)[0]
    shown = {(r[0], r[1]): r[2] for r in portrait[code]["values"]}
    long = rows(
        home.warehouse,
        """
        select l.indicator_id, l.vintage, l.value from indicators.long as l join indicators.catalogue as c using (indicator_id)
        where l.level = 'commune' and l.code = ? and (l.category is null or c.formula = 'category')
        """,
        [code],
    )
    assert shown == pytest.approx({(i, v): value for i, v, value in long})
    population = next(r for r in portrait[code]["values"] if r[0] == "population" and r[1] == "2026")
    communes_71 = rows(home.warehouse, "select count(*) from geo.commune where departement_code = '71'")[0][0]
    assert portrait[code]["rank_scope"] == "departement" and population[5] == communes_71 and 1 <= population[4] <= communes_71
    # an absent value (INSEE keeps some poverty rates secret) is written as null, not 0 nor left out
    absent, vintage = rows(
        home.warehouse,
        "select code, vintage from indicators.long where level = 'commune' and indicator_id = 'poverty_rate' "
        "and value is null and code like '71%' order by code limit 1",
    )[0]
    row = next(r for r in portrait[absent]["values"] if r[0] == "poverty_rate" and r[1] == vintage)
    assert row[2] is None and row[4] is None  # no value, no rank


def test_the_atlas_command_writes_elsewhere_and_serves_on_localhost(sample_build, tmp_path):
    home, _ = sample_build
    out = tmp_path / "atlas"
    written = subprocess.run(
        [TERRITOIRES, "atlas", "--out", str(out)],
        env=_env(home), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert written.returncode == 0, written.stderr
    assert f"{out / 'index.html'}" in written.stdout and "sample data" in written.stdout
    server = subprocess.Popen(
        [TERRITOIRES, "atlas", "--out", str(out), "--serve", "--port", "0"],
        env=_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        url = None
        deadline = time.monotonic() + 60
        while url is None and time.monotonic() < deadline:
            line = server.stdout.readline()
            found = re.search(r"http://127\.0\.0\.1:\d+/index\.html", line)
            url = found.group(0) if found else None
        assert url, "the server never said where it serves"
        page = httpx.get(url, timeout=10)
        assert page.status_code == 200 and "atlas.js" in page.text
        assert httpx.get(url.replace("index.html", "data/meta.js"), timeout=10).text.startswith('ATLAS.receive("meta"')
    finally:
        server.terminate()
        server.wait(10)


def test_an_atlas_is_refused_without_a_warehouse_and_replaces_the_previous_whole(sample_build, tmp_path):
    from pipelines.atlas.site import AtlasError

    with pytest.raises(AtlasError, match="no published warehouse"):
        write_atlas(tmp_path / "none.duckdb", tmp_path / "atlas")
    home, _ = sample_build
    out = tmp_path / "atlas"
    out.mkdir()
    (out / "stale.js").write_text("old")
    report = write_atlas(home.warehouse, out)
    assert not (out / "stale.js").exists() and (out / "index.html").exists()
    assert report.files == sum(1 for p in out.rglob("*") if p.is_file())
    assert [p.name for p in tmp_path.iterdir()] == ["atlas"]  # no partial folder left


def test_without_any_polygon_the_atlas_still_has_every_portrait(sample_build, tmp_path):
    """A build before any contour source was loaded: no map, but names, values and portraits."""
    import shutil

    home, _ = sample_build
    warehouse = tmp_path / "home" / "warehouse.duckdb"  # the published name: the warehouse's views refer to it
    warehouse.parent.mkdir()
    shutil.copyfile(home.warehouse, warehouse)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("load spatial")
        con.execute("delete from geo.shapes")
    report = write_atlas(warehouse, tmp_path / "atlas")
    meta = received(tmp_path / "atlas" / "data" / "meta.js")
    assert report.shape_bytes == {} and not (tmp_path / "atlas" / "data" / "shapes").exists()
    assert {lv["id"]: lv["shapes"] for lv in meta["levels"]}["commune"] is False
    assert [lv["id"] for lv in meta["levels"]][:4] == ["region", "departement", "epci", "commune"]
    assert received(tmp_path / "atlas" / "data" / "portraits" / "commune" / "71.js")["units"]


# ---------------------------------------------------------------------------- territoires map


def test_map_writes_a_png_and_an_svg_with_title_legend_and_source(sample_build, tmp_path):
    home, _ = sample_build
    png = draw_map(home.warehouse, MapRequest("gp_per_10k", level="commune"), tmp_path / "gp.png")
    image = Image.open(png.path).convert("RGB")
    assert image.size[0] >= 1500
    colours = image.getcolors(maxcolors=1 << 20)
    coloured = sum(count for count, (r, g, b) in colours if max(r, g, b) - min(r, g, b) > 60)
    assert coloured > 0.02 * image.size[0] * image.size[1], "hardly any coloured pixel: the choropleth is not drawn"
    assert png.title == "Médecins généralistes pour 10 000 habitants — communes, 2024"

    svg = draw_map(home.warehouse, MapRequest("population", level="epci", departement="71"), tmp_path / "population.svg")
    text = svg.path.read_text(encoding="utf-8")
    assert "Population municipale — epci, 2026" in text and "Saône-et-Loire (71)" in text
    assert "habitants" in text and "Pas de donnée" in text and "etalab_decoupage 2026" in text
    assert "DONNÉES D'EXEMPLE" in text  # a sample build says so on the image
    assert all(label in text for label in svg.legend)
    epcis_71 = rows(home.warehouse, "select count(distinct epci_code) from geo.commune where departement_code = '71'")[0][0]
    assert svg.areas == epcis_71


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (MapRequest("no_such_indicator"), "unknown indicator 'no_such_indicator'"),
        (MapRequest("population", level="iris"), "unknown level 'iris'"),
        (MapRequest("density_level", level="epci"), "density_level has no values at level epci"),
        (MapRequest("population", vintage="1999"), "no vintage 1999"),
        (MapRequest("population", departement="99"), "unknown departement '99'"),
    ],
    ids=["indicator", "level", "categorical-above-communes", "vintage", "departement"],
)
def test_map_refuses_what_it_cannot_draw(sample_build, tmp_path, request_, message):
    home, _ = sample_build
    with pytest.raises(MapError, match=re.escape(message)):
        draw_map(home.warehouse, request_, tmp_path / "map.png")
    assert not list(tmp_path.iterdir())
