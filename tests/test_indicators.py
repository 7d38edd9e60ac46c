"""The indicators of the sample warehouse: every id at every level, and aggregation rules."""

from __future__ import annotations

import csv

import duckdb
import openpyxl
import pytest

from pipelines.settings import DBT_PROJECT_DIR

pytestmark = pytest.mark.integration

LEVELS = {"commune", "epci", "departement", "region", "france",
          "arrondissement", "canton", "zone_emploi", "unite_urbaine", "aire_attraction", "bassin_vie"}


@pytest.fixture(scope="module")
def warehouse(sample_build):
    home, _ = sample_build
    con = duckdb.connect(str(home.warehouse), read_only=True)
    yield con
    con.close()


def definitions():
    with open(DBT_PROJECT_DIR / "seeds" / "indicator_definitions.csv", encoding="utf-8") as handle:
        return {row["indicator_id"]: row for row in csv.DictReader(handle)}


def test_every_indicator_is_catalogued_and_has_values_at_every_level(warehouse):
    published = dict(
        warehouse.execute(
            "select indicator_id, list(distinct level) from indicators.long where value is not null group by 1"
        ).fetchall()
    )
    catalogue = {r[0] for r in warehouse.execute("select indicator_id from indicators.catalogue").fetchall()}
    assert catalogue == set(definitions())
    for indicator_id, definition in definitions().items():
        expected = {"commune"} if definition["levels"] == "commune" else LEVELS
        if indicator_id == "dist_station_km":
            expected = expected - {"france"}  # La Réunion has no railway: see the test below
        assert set(published.get(indicator_id, [])) == expected, indicator_id


def test_a_level_whose_communes_mostly_lack_a_value_gets_none(warehouse):
    # La Réunion has no railway station: its communes have no distance to one, and the
    # sample's Réunion weighs more than a quarter of the sample's France.
    france = warehouse.execute(
        "select value, coverage, commune_count from indicators.long "
        "where indicator_id = 'dist_station_km' and level = 'france'"
    ).fetchall()
    known = warehouse.execute(
        "select sum(population) filter (where departement_code <> '974') / sum(population), "
        "count(*) filter (where departement_code <> '974') from geo.commune where zone in ('metro', 'drom')"
    ).fetchone()
    minimum = warehouse.execute(
        "select min_coverage from indicators.catalogue where indicator_id = 'dist_station_km'"
    ).fetchone()[0]
    assert minimum == 0.9 and known[0] < minimum
    assert france and all(row == (None, pytest.approx(known[0]), known[1]) for row in france)  # every vintage
    reunion = warehouse.execute(
        "select level, value, coverage from indicators.long where indicator_id = 'dist_station_km' "
        "and code in ('974', '04') order by 1"
    ).fetchall()
    # No commune of La Réunion has a value: its département and région have a row saying so.
    assert reunion and set(reunion) == {("departement", None, 0.0), ("region", None, 0.0)}
    # Every other row without a value is below its coverage, or has nothing to divide by.
    unexplained = warehouse.execute(
        """
        select l.indicator_id, l.level, l.code, l.vintage, l.coverage
        from indicators.long as l join indicators.catalogue as c using (indicator_id)
        where l.value is null and l.level <> 'commune' and l.coverage >= c.min_coverage
          and coalesce(l.denominator, 1) <> 0 and c.formula <> 'annual_change_pct'
        """
    ).fetchall()
    assert unexplained == []


def test_a_ratio_at_epci_level_is_the_ratio_of_summed_parts(warehouse):
    rows = warehouse.execute(
        """
        select e.code, e.value, sum(c.numerator), sum(c.denominator), avg(c.value)
        from indicators.long as e
        join geo.commune as g on g.epci_code = e.code
        join indicators.long as c
          on c.level = 'commune' and c.code = g.commune_code and c.indicator_id = e.indicator_id and c.vintage = e.vintage
        where e.indicator_id = 'share_75_plus' and e.level = 'epci'
        group by e.code, e.value
        """
    ).fetchall()
    assert rows
    told_apart = 0
    for code, value, numerator, denominator, mean_of_ratios in rows:
        assert value == pytest.approx(100 * numerator / denominator), code
        told_apart += abs(value - mean_of_ratios) > 1e-6
    assert told_apart > 0


def test_weighted_apl_equals_a_hand_computation_from_the_sample_workbook(warehouse, sample_files):
    folder, _ = sample_files
    sheet = openpyxl.load_workbook(folder / "drees_apl" / "2023" / "apl_medecins_generalistes.xlsx", read_only=True)["APL 2023"]
    rows = list(sheet.iter_rows(values_only=True))
    header = next(i for i, row in enumerate(rows) if row and row[0] == "Code commune INSEE")
    names = list(rows[header])
    value_at = names.index("APL aux médecins généralistes")
    weight_at = next(i for i, name in enumerate(names) if str(name).startswith("Population standardisée"))
    apl = {
        str(row[0]): (float(row[value_at]), float(row[weight_at]))
        for row in rows[header + 1 :]
        if row and row[0] and str(row[0])[:1].isdigit() and row[2] is not None
    }
    passage = dict(warehouse.execute("select old_code, commune_code from geo.commune_passage").fetchall())
    epci_of = dict(warehouse.execute("select commune_code, epci_code from geo.commune").fetchall())
    sums: dict[str, list[float]] = {}
    for code, (value, weight) in apl.items():
        epci = epci_of[passage[code]]
        total = sums.setdefault(epci, [0.0, 0.0])
        total[0] += value * weight
        total[1] += weight
    published = dict(
        warehouse.execute(
            "select code, value from indicators.long where indicator_id = 'gp_apl' and level = 'epci' and vintage = '2023'"
        ).fetchall()
    )
    assert published.keys() == sums.keys()
    for epci, (weighted, weight) in sums.items():
        assert published[epci] == pytest.approx(weighted / weight, rel=1e-9), epci


def test_category_shares_add_up_to_100_and_communes_carry_their_category(warehouse):
    totals = warehouse.execute(
        """
        select indicator_id, level, code, vintage, sum(value)
        from indicators.long
        where indicator_id in ('density_level', 'frr_class', 'zrr') and level <> 'commune'
        group by all
        """
    ).fetchall()
    assert totals and all(total == pytest.approx(100.0) for *_, total in totals)
    ranks = warehouse.execute(
        """
        select count(*) from indicators.long as l
        join indicators.categories as c using (indicator_id, category)
        where l.level = 'commune' and l.value <> c.category_rank
        """
    ).fetchone()[0]
    assert ranks == 0


def test_flags_are_zero_or_one_for_communes_and_shares_above(warehouse):
    values = warehouse.execute(
        "select level, min(value), max(value) from indicators.long where indicator_id = 'has_cafe' group by level"
    ).fetchall()
    for level, low, high in values:
        if level == "commune":
            assert {low, high} <= {0.0, 1.0}
        else:
            assert 0 <= low <= high <= 100


def test_a_source_missing_for_a_vintage_leaves_the_indicator_absent_not_zero(warehouse):
    # the sample BPE 2024 uses the recast typology, where no EHPAD code is mapped
    vintages = {r[0] for r in warehouse.execute(
        "select distinct vintage from indicators.long where indicator_id = 'ehpad_count'"
    ).fetchall()}
    gp_vintages = {r[0] for r in warehouse.execute(
        "select distinct vintage from indicators.long where indicator_id = 'gp_count'"
    ).fetchall()}
    assert vintages == {"2021"} and gp_vintages == {"2021", "2024"}


def test_distances_agree_with_a_brute_force_search(warehouse):
    warehouse.execute("load spatial")
    mismatches = warehouse.execute(
        """
        with brute as (
            select c.commune_code, f.kind, f.vintage, min(sqrt((c.x - f.x) ^ 2 + (c.y - f.y) ^ 2)) / 1000 as km
            from intermediate.int_commune_reference_points as c
            join intermediate.int_facility_points as f on f.zone = c.zone
            group by all
        )
        select count(*) from brute as b
        full join intermediate.int_nearest_facility as n using (commune_code, kind, vintage)
        where b.km is null or n.distance_km is null or abs(b.km - n.distance_km) > 1e-9
        """
    ).fetchone()[0]
    assert mismatches == 0


def test_arrondissements_roll_up_into_their_city(warehouse, sample_files):
    # the census lists 69123 by arrondissement only; its commune row is their sum
    folder, _ = sample_files
    row = warehouse.execute(
        "select numerator, denominator from indicators.long where indicator_id = 'share_75_plus' "
        "and level = 'commune' and code = '69123' and vintage = '2021'"
    ).fetchone()
    by_arrondissement = warehouse.execute(
        "select sum(pop_75_plus), sum(population) from staging.stg_insee_census_age__communes "
        "where vintage = '2021' and commune_code like '6938_'"
    ).fetchone()
    assert row == pytest.approx(by_arrondissement)


def test_the_wide_table_has_one_row_per_commune_with_latest_vintages(warehouse):
    communes = warehouse.execute("select count(*) from geo.commune where zone in ('metro', 'drom')").fetchone()[0]
    assert warehouse.execute("select count(*), count(distinct commune_code) from indicators.commune").fetchone() == (communes, communes)
    columns = {r[0] for r in warehouse.execute("describe indicators.commune").fetchall()}
    for indicator_id, definition in definitions().items():
        assert {indicator_id, f"{indicator_id}_vintage"} <= columns
        if definition["formula"] == "category":
            assert f"{indicator_id}_label" in columns
    assert warehouse.execute("select distinct gp_count_vintage from indicators.commune").fetchall() == [("2024",)]


# --- absent values: unknown inputs give unknown outputs, at every level ---------------------------


def _rows(warehouse, indicator_id: str, level: str, code: str) -> dict[str, tuple]:
    """{vintage: (value, coverage)} of one indicator at one place."""
    return {
        vintage: (value, coverage)
        for vintage, value, coverage in warehouse.execute(
            "select vintage, value, coverage from indicators.long where indicator_id = ? and level = ? and code = ?",
            [indicator_id, level, code],
        ).fetchall()
    }


def _population_share(warehouse, code: str, level_column: str) -> float:
    """The share of its level's population a commune holds (geo.commune populations)."""
    return warehouse.execute(
        f"select sum(population) filter (where commune_code = ?) / sum(population) from geo.commune "
        f"where {level_column} = (select {level_column} from geo.commune where commune_code = ?)",
        [code, code],
    ).fetchone()[0]


def test_a_commune_without_apl_has_no_apl_and_no_desert_flag_and_its_areas_say_so(warehouse):
    from pipelines.sample.drees_apl import story
    from pipelines.sample.territory import build_territory

    (code,) = story(build_territory())["not_published"]
    for indicator_id in ("gp_apl", "gp_apl_under_65", "medical_desert"):
        assert _rows(warehouse, indicator_id, "commune", code) == {"2022": (None, 0.0), "2023": (None, 0.0)}
    (epci,) = warehouse.execute("select epci_code from geo.commune where commune_code = ?", [code]).fetchone()
    missing = _population_share(warehouse, code, "epci_code")
    for indicator_id in ("gp_apl", "medical_desert"):
        for value, coverage in _rows(warehouse, indicator_id, "epci", epci).values():
            assert coverage == pytest.approx(1 - missing) and 0 < missing < 0.1
            assert value is not None  # the rest of the EPCI is enough


def test_a_commune_with_nobody_to_weigh_keeps_the_apl_drees_publishes(warehouse, sample_files):
    from pipelines.sample.drees_apl import sample_rows, story
    from pipelines.sample.territory import build_territory

    territory = build_territory()
    (code,) = story(territory)["nobody_to_weigh"]
    published = {year: next(r for r in sample_rows(territory, year) if r[0] == code) for year in ("2022", "2023")}
    assert all(row[4] == 0 for row in published.values())  # standardised population 0
    assert _rows(warehouse, "gp_apl", "commune", code) == {
        year: (pytest.approx(row[2]), 1.0) for year, row in published.items()
    }


def test_a_census_band_missing_leaves_the_share_unknown_and_lowers_coverage(warehouse):
    from pipelines.sample.insee_census_age import missing_band_commune
    from pipelines.sample.territory import build_territory

    code = missing_band_commune(build_territory())
    rows = _rows(warehouse, "share_75_plus", "commune", code)
    assert rows["2021"] == (None, 0.0) and rows["2020"][0] is not None
    missing = _population_share(warehouse, code, "departement_code")
    value, coverage = _rows(warehouse, "share_75_plus", "departement", "2A")["2021"]
    assert coverage == pytest.approx(1 - missing) and value is not None


def test_an_unknown_quartier_population_stays_unknown_above_the_commune(warehouse):
    from pipelines.sample.anct_qpv import coded, without_population
    from pipelines.sample.territory import build_territory

    territory = build_territory()
    unknown = without_population(territory)
    (commune,) = [c.code for c in unknown.communes]
    assert _rows(warehouse, "qpv_population_share", "commune", commune)["2015"] == (None, 0.0)
    # The quartier's commune is most of its département: no value there, nor in its région.
    for level, area in (("departement", "2A"), ("region", "94")):
        value, coverage = _rows(warehouse, "qpv_population_share", level, area)["2015"]
        assert value is None and coverage == pytest.approx(1 - _population_share(warehouse, commune, "departement_code"))
    # France is covered enough: its share is over the other quartiers and communes.
    numerator, denominator, value, coverage = warehouse.execute(
        "select numerator, denominator, value, coverage from indicators.long "
        "where indicator_id = 'qpv_population_share' and level = 'france' and vintage = '2015'"
    ).fetchone()
    known = sum(q.population for _, q in coded(territory, "2015") if q != unknown)
    assert numerator == known and 0.9 <= coverage < 1
    assert value == pytest.approx(100 * known / denominator)
    # The 2024 quartiers have no population at all: no share at any level, the count is there.
    levels = dict(warehouse.execute(
        "select indicator_id, list(distinct level order by level) from indicators.long "
        "where vintage = '2024' and indicator_id like 'qpv_%' and value is not null group by 1"
    ).fetchall())  # fmt: skip
    assert levels == {"qpv_count": sorted(LEVELS)}
