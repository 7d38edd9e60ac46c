"""The geography backbone on the real Etalab files (COG 2024 and 2026) of ../shared."""

from __future__ import annotations

import duckdb
import pytest

pytestmark = [pytest.mark.real_data, pytest.mark.integration]


@pytest.fixture(scope="module")
def warehouse(real_geography_build):
    con = duckdb.connect(str(real_geography_build.warehouse), read_only=True)
    yield con
    con.close()


def scalar(con, sql, params=None):
    return con.execute(sql, params or []).fetchone()[0]


def test_2026_geography_has_34875_communes_in_metropolitan_france_and_the_drom(warehouse):
    assert scalar(warehouse, "select count(*) from geo.commune where zone in ('metro', 'drom')") == 34_875
    assert scalar(warehouse, "select distinct geography_vintage from geo.commune") == "2026"
    assert scalar(warehouse, "select count(*) from geo.commune where zone = 'com'") == 94


def test_known_communes_carry_their_real_attributes(warehouse):
    rows = dict(
        (code, (name, dep, pop))
        for code, name, dep, pop in warehouse.execute(
            "select commune_code, commune_name, departement_code, population from geo.commune "
            "where commune_code in ('71153', '57132', '75056', '2A004')"
        ).fetchall()
    )
    assert rows["71153"] == ("Le Creusot", "71", 20_509)
    assert rows["57132"] == ("Château-Salins", "57", 2_296)
    assert rows["75056"][2] == 2_103_778
    assert rows["2A004"][1] == "2A"


def test_every_2024_commune_code_maps_onto_a_2026_commune(warehouse):
    unmapped = warehouse.execute(
        """
        select c.commune_code
        from staging.stg_etalab_decoupage__communes as c
        left join geo.commune_passage as p on p.old_code = c.commune_code
        left join geo.commune as g on g.commune_code = p.commune_code
        where c.vintage = '2024' and g.commune_code is null
        """
    ).fetchall()
    assert unmapped == []


def test_arrondissements_map_to_paris_lyon_marseille(warehouse):
    targets = dict(
        warehouse.execute(
            "select old_code, commune_code from geo.commune_passage where old_code in ('75101', '69381', '13201')"
        ).fetchall()
    )
    assert targets == {"75101": "75056", "69381": "69123", "13201": "13055"}


def test_2024_population_on_2026_geography_keeps_its_total(warehouse):
    # Etalab 4.1.0: 68,017,091 inhabitants in metropolitan France and the DROM.
    for level in ("commune", "epci", "departement", "region", "france"):
        total = scalar(
            warehouse,
            "select sum(value) from indicators.long where indicator_id = 'population' and vintage = '2024' and level = ?",
            [level],
        )
        expected = 68_017_091 if level != "epci" else None
        if expected:
            assert total == expected, level
    assert scalar(
        warehouse,
        "select value from indicators.long where indicator_id = 'population' and level = 'france' and vintage = '2026'",
    ) == 68_350_798


def test_a_merged_commune_gets_the_sum_of_its_predecessors(warehouse):
    # Communes absent from 2026 (merged away) and the 2026 commune they went into.
    merged = warehouse.execute(
        """
        with gone as (
            select c.commune_code as old_code, c.population
            from staging.stg_etalab_decoupage__communes as c
            where c.vintage = '2024' and c.commune_type = 'commune-actuelle' and c.zone <> 'com'
              and c.commune_code not in (select commune_code from geo.commune)
        ),
        predecessors as (
            select p.commune_code, sum(s.population) as expected
            from staging.stg_etalab_decoupage__communes as s
            join geo.commune_passage as p on p.old_code = s.commune_code
            where s.vintage = '2024' and s.commune_type = 'commune-actuelle'
              and p.commune_code in (select p2.commune_code from gone join geo.commune_passage p2 on p2.old_code = gone.old_code)
            group by p.commune_code
        )
        select pr.commune_code, pr.expected, l.value
        from predecessors as pr
        join indicators.long as l
          on l.code = pr.commune_code and l.indicator_id = 'population' and l.level = 'commune' and l.vintage = '2024'
        """
    ).fetchall()
    assert len(merged) >= 20  # 68 codes disappeared into a few dozen communes nouvelles
    for code, expected, value in merged:
        assert value == expected, code
    assert all(value > 0 for _, _, value in merged)


def test_indicators_exist_at_every_level_for_both_vintages(warehouse):
    levels = warehouse.execute(
        "select vintage, list(distinct level order by level) from indicators.long "
        "where indicator_id = 'population' group by 1 order by 1"
    ).fetchall()
    # with INSEE's 2022 table d'appartenance (no BV2022 in it: no bassin de vie level)
    every = ["aire_attraction", "arrondissement", "canton", "commune", "departement", "epci", "france", "region",
             "unite_urbaine", "zone_emploi"]  # fmt: skip
    assert levels == [("2024", every), ("2026", every)]


def test_change_rate_is_rebuilt_from_summed_populations(warehouse):
    rows = warehouse.execute(
        """
        select level, code, value, numerator, denominator from indicators.long
        where indicator_id = 'population_change_rate' and vintage = '2023' and base_vintage = '2022'
          and (code in ('71153', '71', '27', 'FR'))
        """
    ).fetchall()
    assert {r[1] for r in rows} == {"71153", "71", "27", "FR"}
    # Census 2023 (Etalab 6.0.0) against census 2022 (4.1.0): one year, not the two between packages.
    for level, code, value, numerator, denominator in rows:
        assert value == pytest.approx(100 * ((numerator / denominator) ** (1 / 1) - 1)), (level, code)
    creusot = next(r for r in rows if r[1] == "71153")
    assert creusot[3:] == (20_509, 20_536)


def test_populations_are_labelled_with_their_census_year(warehouse):
    # Paris (75056): populations légales 2022 = 2,113,705 (Etalab 4.1.0), 2023 = 2,103,778 (6.0.0).
    labelled = warehouse.execute(
        "select vintage, population_year, population from staging.stg_etalab_decoupage__communes "
        "where commune_code = '75056' and commune_type = 'commune-actuelle' order by 1"
    ).fetchall()
    assert labelled == [("2024", 2022, 2_113_705), ("2026", 2023, 2_103_778)]
    assert warehouse.execute("select distinct population_year from geo.commune").fetchall() == [(2023,)]


def test_the_population_of_a_data_year_is_the_latest_census_not_after_it(warehouse):
    chosen = dict(
        (year, (vintage, census))
        for year, vintage, census in warehouse.execute(
            "select data_year, population_vintage, population_year from intermediate.int_population_for_year "
            "where commune_code = '75056' and data_year in (2021, 2022, 2023, 2025)"
        ).fetchall()
    )
    # before the earliest census loaded: the earliest; then census 2022 (4.1.0), census 2023 (6.0.0)
    assert chosen == {2021: ("2024", 2022), 2022: ("2024", 2022), 2023: ("2026", 2023), 2025: ("2026", 2023)}
