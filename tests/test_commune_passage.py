"""The passage of old commune codes to the target geography: one documented rule for codes
that reach several communes, and the counts of a split code apportioned by population.

The case is built on the sample's raw tables: in 2026 the commune déléguée 71198
(Charans-sur-Braneux, part of the commune nouvelle 71011 since 2017) is restored as a
commune, and a movement makes 71061 reach two communes of 2026 at the same distance.
"""

from __future__ import annotations

import shutil

import duckdb
import pytest
from source_checks import dbt_build

pytestmark = pytest.mark.integration

NOUVELLE, RESTORED = "71011", "71198"
RESTORED_POPULATION, NOUVELLE_POPULATION = 20, 36  # 56 together, as before the restoration
AMBIGUOUS, MERGED_INTO, ALSO_INTO = "71061", "71107", "71474"


@pytest.fixture(scope="module")
def restored_build(sample_build, tmp_path_factory):
    home, _ = sample_build
    work = tmp_path_factory.mktemp("passage")
    database = work / "warehouse.duckdb"
    shutil.copy(home.work_db, database)
    with duckdb.connect(str(database)) as con:
        con.execute(
            f"""
            delete from raw.etalab_decoupage__communes where _vintage = '2026' and code = '{RESTORED}';
            insert into raw.etalab_decoupage__communes by name
            select * replace ('commune-actuelle' as type, null as chefLieu, '{RESTORED_POPULATION}' as population,
                              [] as anciensCodes, '2026' as _vintage)
            from raw.etalab_decoupage__communes where _vintage = '2025' and code = '{RESTORED}';
            update raw.etalab_decoupage__communes set population = '{NOUVELLE_POPULATION}', anciensCodes = []
            where _vintage = '2026' and code = '{NOUVELLE}' and type = 'commune-actuelle';
            update raw.etalab_decoupage__communes set zone = 'metro', departement = '71', region = '27'
            where _vintage = '2026' and code = '{RESTORED}';
            insert into raw.etalab_decoupage__epci_members by name
            select * replace ('{RESTORED}' as code) from raw.etalab_decoupage__epci_members
            where _vintage = '2026' and code = '{NOUVELLE}';
            insert into raw.insee_cog__movements by name
            select * replace ('31' as MOD, '{ALSO_INTO}' as COM_AP) from raw.insee_cog__movements
            where _vintage = '2026' and COM_AV = '{AMBIGUOUS}' and TYPECOM_AP = 'COM' limit 1;
            """
        )
    result = dbt_build(database, work, "+geo_commune", "+int_indicator_parts__census", "+int_commune_split_shares")
    assert result.returncode == 0, result.stdout[-3000:]
    con = duckdb.connect(str(database), read_only=True)
    yield con
    con.close()


def test_a_code_reaching_two_communes_follows_the_rule(restored_build):
    populations = dict(restored_build.execute(
        "select commune_code, population from geo.commune where commune_code in (?, ?)", [MERGED_INTO, ALSO_INTO]
    ).fetchall())  # fmt: skip
    row = restored_build.execute(
        "select commune_code, is_ambiguous from geo.commune_passage where old_code = ?", [AMBIGUOUS]
    ).fetchone()
    # Same distance, neither kept the code: the most populated wins.
    assert populations[MERGED_INTO] > populations[ALSO_INTO]
    assert row == (MERGED_INTO, True)


def test_the_restored_commune_is_its_own_target_and_the_old_one_is_split(restored_build):
    rows = dict(restored_build.execute(
        "select old_code, (commune_code, is_split) from geo.commune_passage where old_code in (?, ?)", [NOUVELLE, RESTORED]
    ).fetchall())  # fmt: skip
    assert rows == {NOUVELLE: (NOUVELLE, True), RESTORED: (RESTORED, False)}
    shares = dict(restored_build.execute(
        "select piece_code, share from intermediate.int_commune_split_shares where old_code = ?", [NOUVELLE]
    ).fetchall())  # fmt: skip
    assert shares == pytest.approx({NOUVELLE: 36 / 56, RESTORED: 20 / 56})


def test_older_counts_are_apportioned_by_population_and_flagged(restored_build):
    # The census of 2020 and 2021 lists the commune nouvelle whole (the restored commune inside it).
    published = dict(restored_build.execute(
        "select vintage, pop_75_plus from staging.stg_insee_census_age__communes where commune_code = ?", [NOUVELLE]
    ).fetchall())  # fmt: skip
    parts = restored_build.execute(
        "select vintage, commune_code, numerator, has_split from intermediate.int_indicator_parts__census "
        "where indicator_id = 'share_75_plus' and commune_code in (?, ?) order by 1, 2", [NOUVELLE, RESTORED]
    ).fetchall()
    assert set(published) == {"2020", "2021"}
    expected = []
    for vintage, count in sorted(published.items()):
        expected += [(vintage, NOUVELLE, pytest.approx(count * 36 / 56), True),
                     (vintage, RESTORED, pytest.approx(count * 20 / 56), True)]
    assert parts == expected
