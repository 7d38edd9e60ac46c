"""INSEE's levels on the sample warehouse: arrondissement, canton, zone d'emploi, unité urbaine,
aire d'attraction, bassin de vie — geo tables, rollups, a commune that changed zone, exports,
programme filters, and the population check at publish."""

from __future__ import annotations

from collections import defaultdict

import duckdb
import pytest

from pipelines.sample import build_territory
from pipelines.sample import insee_appartenance as appartenance
from pipelines.warehouse.levels import ZONING_LEVELS

pytestmark = pytest.mark.integration

COLUMNS = {
    "arrondissement": "ARR", "canton": "CV", "zone_emploi": "ZE2020", "unite_urbaine": "UU2020",
    "aire_attraction": "AAV2020", "bassin_vie": "BV2022",
}  # fmt: skip


@pytest.fixture(scope="module")
def warehouse(sample_build):
    home, _ = sample_build
    con = duckdb.connect(str(home.warehouse), read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="module")
def territory():
    return build_territory()


@pytest.fixture(scope="module")
def zonings(territory):
    """The sample's 2026 table d'appartenance, as the generator drew it (not read from the warehouse)."""
    return appartenance.zonings(territory, "2026")


def test_every_commune_is_in_the_zone_the_latest_table_gives(warehouse, zonings):
    rows = warehouse.execute(
        "select commune_code, arrondissement_code, canton_code, zone_emploi_code, unite_urbaine_code, "
        "aire_attraction_code, bassin_vie_code from geo.commune where zone in ('metro', 'drom') order by 1"
    ).fetchall()
    assert len(rows) == len(zonings)
    for code, *zones in rows:
        assert tuple(zones) == tuple(zonings[code][COLUMNS[level]] for level in ZONING_LEVELS), code


def test_a_commune_that_changed_zone_d_emploi_takes_the_newest_one(warehouse, territory):
    moved = appartenance.moved_commune(territory)
    before = appartenance.zonings(territory, "2025")[moved]["ZE2020"]
    after = appartenance.zonings(territory, "2026")[moved]["ZE2020"]
    assert before != after
    assert warehouse.execute("select zone_emploi_code from geo.commune where commune_code = ?", [moved]).fetchone() == (after,)
    # its population counts in its new zone, not in its old one
    population = warehouse.execute("select population from geo.commune where commune_code = ?", [moved]).fetchone()[0]
    members = dict(warehouse.execute(
        "select zone_emploi_code, list(commune_code) from geo.commune group by 1").fetchall())  # fmt: skip
    assert moved in members[after] and moved not in members[before] and population > 0


def test_geo_level_tables_sum_the_communes_of_each_zone(warehouse, territory, zonings):
    population = {c.code: c.population for c in territory.geography("2026").actuelles}
    for level in ZONING_LEVELS:
        expected = defaultdict(lambda: [0, 0])
        for code, zones in zonings.items():
            expected[zones[COLUMNS[level]]][0] += population[code]
            expected[zones[COLUMNS[level]]][1] += 1
        rows = warehouse.execute(f"select code, population, commune_count, label, zoning_vintage from geo.{level}").fetchall()
        assert {r[0]: [r[1], r[2]] for r in rows} == dict(expected), level
        assert all(r[3] for r in rows) and {r[4] for r in rows} == {"2026"}, level


def test_population_of_every_level_sums_to_france(warehouse):
    totals = dict(warehouse.execute(
        "select level, sum(value) from indicators.long where indicator_id = 'population' "
        "and vintage = (select max(vintage) from indicators.long where indicator_id = 'population') group by 1"
    ).fetchall())  # fmt: skip
    outside_epci = warehouse.execute(
        "select coalesce(sum(population), 0) from geo.commune where epci_code is null and zone in ('metro', 'drom')"
    ).fetchone()[0]
    for level in (*ZONING_LEVELS, "departement", "region"):
        assert totals[level] == totals["france"], level
    assert totals["epci"] + outside_epci == totals["france"]


def test_counts_and_ratios_roll_up_to_each_zone_from_its_communes(warehouse):
    """A zone's count is its communes' sum; its GPs per 10,000 are its GPs over its people,
    never a mean of its communes' ratios."""
    for level in ZONING_LEVELS:
        mismatches = warehouse.execute(
            f"""
            with communes as (
                select g.{level}_code as code, l.vintage,
                       sum(l.value) filter (where l.indicator_id = 'gp_count') as gps,
                       sum(l.value) filter (where l.indicator_id = 'cafe_count') as cafes,
                       sum(l.denominator) filter (where l.indicator_id = 'gp_per_10k' and l.numerator is not null) as people
                from indicators.long l join geo.commune g on g.commune_code = l.code
                where l.level = 'commune'
                group by all
            ),
            zones as (
                select code, vintage,
                       any_value(value) filter (where indicator_id = 'gp_count') as gps,
                       any_value(value) filter (where indicator_id = 'cafe_count') as cafes,
                       any_value(value) filter (where indicator_id = 'gp_per_10k') as gp_per_10k
                from indicators.long where level = '{level}' group by all
            )
            select * from zones z join communes c using (code, vintage)
            where z.gps is distinct from c.gps or z.cafes is distinct from c.cafes
               or abs(z.gp_per_10k - 10000.0 * c.gps / c.people) > 1e-9
            """
        ).fetchall()
        assert mismatches == [], level
        assert warehouse.execute(
            f"select count(distinct code) from indicators.long where level = '{level}' and indicator_id = 'gp_per_10k' and value is not null"
        ).fetchone()[0] == warehouse.execute(f"select count(*) from geo.{level}").fetchone()[0]


def test_the_catalogue_says_each_indicator_is_published_at_the_new_levels(warehouse):
    levels = dict(warehouse.execute("select indicator_id, levels from indicators.catalogue").fetchall())
    assert set(ZONING_LEVELS) <= set(levels["population"]) and set(ZONING_LEVELS) <= set(levels["qpv_count"])
    assert levels["median_living_standard"] == ["commune"]  # a median is not rebuilt above the commune


def test_export_at_a_new_level(sample_build, tmp_path):
    from pipelines.warehouse.exports import ExportSelection, export_warehouse

    home, _ = sample_build
    report = export_warehouse(home.warehouse, tmp_path / "out", ExportSelection(levels=("bassin_vie",), formats=("csv",)))
    files = {f["path"]: f for f in report.manifest["files"]}
    assert "geo_bassin_vie.csv" in files and "geo_commune.csv" not in files
    levels = {line.split(",")[1] for line in (report.path / "indicators_long.csv").read_text().splitlines()[1:]}
    assert levels == {"bassin_vie"}
