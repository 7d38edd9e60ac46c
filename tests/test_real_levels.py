"""INSEE's levels on the real files: the 2022 table d'appartenance (a spreadsheet re-save) and
the AAV 2020 workbook, mapped onto the 2026 geography; the real bassin de vie exports."""

from __future__ import annotations

import gzip

import duckdb
import pytest

pytestmark = [pytest.mark.real_data, pytest.mark.integration]


@pytest.fixture(scope="module")
def warehouse(real_build):
    con = duckdb.connect(str(real_build.warehouse), read_only=True)
    yield con
    con.close()


def test_le_creusot_and_chateau_salins_are_in_their_real_zones(warehouse):
    """Values of INSEE's 2022 table (PROVENANCE.md of zonages-insee), on the 2026 geography."""
    rows = {
        code: rest
        for code, *rest in warehouse.execute(
            "select commune_code, arrondissement_code, canton_code, zone_emploi_code, unite_urbaine_code, "
            "aire_attraction_code, aire_attraction_category from geo.commune where commune_code in ('71153', '57132', '23001')"
        ).fetchall()
    }
    assert rows["71153"] == ["711", "7198", "2710", "71401", "183", "pole_principal"]
    assert rows["57132"][3:] == ["57111", "000", "hors_attraction"]
    assert rows["23001"][3:] == ["23000", "179", "couronne"]  # rural commune in the couronne of Guéret
    label = warehouse.execute("select label from geo.aire_attraction where code = '183'").fetchone()
    assert label == ("Le Creusot",)  # labels come from the AAV workbook, the 2022 re-save has none


def test_every_commune_of_2026_has_a_zone_and_each_level_sums_to_france(warehouse):
    missing = warehouse.execute(
        "select count(*) filter (where zone_emploi_code is null), count(*) filter (where aire_attraction_code is null), "
        "count(*) filter (where canton_code is null) from geo.commune where zone in ('metro', 'drom')"
    ).fetchone()
    assert missing == (0, 0, 0)
    for vintage in ("2024", "2026"):  # the Etalab packages' populations, on the 2026 geography
        france = warehouse.execute(
            "select value from indicators.long where indicator_id = 'population' and level = 'france' and vintage = ?", [vintage]
        ).fetchone()[0]
        for level in ("arrondissement", "canton", "zone_emploi", "unite_urbaine", "aire_attraction"):
            total = warehouse.execute(
                "select sum(value) from indicators.long where indicator_id = 'population' and level = ? and vintage = ?",
                [level, vintage],
            ).fetchone()[0]
            assert total == pytest.approx(france, abs=0.5), (level, vintage)
    # the 2022 table has BV2012, not BV2022: no bassin de vie level is made up
    assert warehouse.execute("select count(*) from geo.bassin_vie").fetchone()[0] == 0


def test_a_commune_merged_since_2022_takes_the_zone_of_the_commune_whose_code_it_kept(warehouse, real_data):
    """Communes nouvelles created between the 2022 table and the 2026 geography reach their zone
    through geo.commune_passage."""
    table = gzip.decompress((real_data / "zonages-insee" / "table-appartenance-geo-communes-22.csv.gz").read_bytes())
    ze_2022 = {}
    for line in table.decode("cp1252").splitlines()[1:]:
        fields = line.split(";")
        ze_2022[fields[0].zfill(5)] = fields[8].zfill(4)
    merged = warehouse.execute(
        "select p.commune_code, list(p.old_code order by p.old_code) from geo.commune_passage p "
        "where p.old_code <> p.commune_code and p.commune_code in (select commune_code from geo.commune) "
        "group by 1 order by 1"
    ).fetchall()
    checked = 0
    for code, olds in merged:
        if code in ze_2022 and any(o in ze_2022 for o in olds):
            got = warehouse.execute("select zone_emploi_code from geo.commune where commune_code = ?", [code]).fetchone()[0]
            assert got == ze_2022[code], code
            checked += 1
    assert checked > 10  # there are real mergers between 2022 and 2026


def test_communes_restored_since_2022_take_the_zone_of_the_commune_they_were_part_of(warehouse):
    """Neussargues en Pinatelle (15141) was restored into five communes; the Etalab 2024 file
    records it (communes déléguées), so each piece takes 15141's zones. L'Oie and Sainte-Florence,
    restored from Essarts-en-Bocage in a COG the loaded files do not describe, take the zones of
    their nearest placed neighbour."""
    placed = {
        code: (zone, how)
        for code, zone, how in warehouse.execute(
            "select commune_code, code, placed_by from intermediate.int_commune_levels where level = 'zone_emploi' "
            "and commune_code in ('15141', '15031', '15035', '15047', '15171', '85165', '85212')"
        ).fetchall()
    }
    assert placed["15141"] == ("8429", "table")
    assert {placed[c] for c in ("15031", "15035", "15047", "15171")} == {("8429", "split")}
    assert placed["85165"][1] == placed["85212"][1] == "nearest" and placed["85165"][0] == "5213"


def test_the_real_bassin_de_vie_exports_load_at_their_level(warehouse):
    rows = warehouse.execute(
        "select level, count(distinct code), count(distinct indicator) from staging.stg_anct_observatoire__values group by 1"
    ).fetchall()
    assert len(rows) == 1 and rows[0][0] == "bassin_vie" and rows[0][1] >= 1_700 and rows[0][2] == 24
    aubusson = dict(warehouse.execute(
        "select indicator, value from staging.stg_anct_observatoire__values where code = '23008'").fetchall())  # fmt: skip
    assert aubusson["Taux de pauvreté 2021"] == 21.5 and aubusson["APL Médecins généralistes 2023"] == 3.6
    compared = warehouse.execute(
        "select indicator_id, vintage, published_value, warehouse_value from indicators.published_comparison "
        "where level = 'bassin_vie' and code = '23008' order by 1"
    ).fetchall()
    assert ("gp_apl", "2023", 3.6, None) in compared and ("poverty_rate", "2021", 21.5, None) in compared
    assert warehouse.execute("select count(*) from staging.stg_anct_observatoire__values where commune_code is not null").fetchone()[0] == 0
