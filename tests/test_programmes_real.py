"""Programme targets on real files: the medical-deserts list of Saône-et-Loire built from the
real DREES APL workbook matches an independent computation from the workbook itself."""

from __future__ import annotations

import duckdb
import polars as pl
import pytest
from click.testing import CliRunner

from pipelines.cli import main

pytestmark = [pytest.mark.real_data, pytest.mark.integration]

APL_FILE = ("apl", "apl_generalistes.xlsx")
APL_SHA256 = "983d59a873d2b176349e003a565c14a8b2793da1c76bbc5e9a3505a068b730a7"  # apl/PROVENANCE.md
SAONE_ET_LOIRE = "71"


@pytest.fixture(scope="session")
def real_apl_build(real_build):
    """The build of every real file (Etalab 2024 and 2026, the DREES APL workbook…), shared."""
    return real_build


def independent_deserts(real_data, warehouse) -> pl.DataFrame:
    """APL 2023 read straight from the workbook with DuckDB, placed on the 2026 communes of 71.

    The few communes merged since the 2023 geography are averaged into their 2026 commune,
    weighted by the standardised population, as the DREES advises.
    """
    with duckdb.connect() as con:
        con.execute("load excel")
        apl = con.execute(
            """
            select A as code, C::double as apl, E::double as standardised_population
            from read_xlsx(?, sheet = 'APL 2023', range = 'A11:F40000', header = false, all_varchar = true)
            where A is not null
            """,
            [str(real_data.joinpath(*APL_FILE))],
        ).pl()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        passage = con.execute("select old_code as code, commune_code from geo.commune_passage").pl()
        communes = con.execute("select commune_code from geo.commune where departement_code = ?", [SAONE_ET_LOIRE]).pl()
    placed = apl.join(passage, on="code", how="left").with_columns(pl.col("commune_code").fill_null(pl.col("code")))
    per_commune = (
        placed.join(communes, on="commune_code")
        .group_by("commune_code")
        .agg((pl.col("apl") * pl.col("standardised_population")).sum() / pl.col("standardised_population").sum())
    )
    return per_commune.filter(pl.col("apl") < 2.5).sort("commune_code")


def test_medical_deserts_of_saone_et_loire_match_the_apl_workbook(real_apl_build, real_data):
    expected = independent_deserts(real_data, real_apl_build.warehouse)
    with duckdb.connect(str(real_apl_build.warehouse), read_only=True) as con:
        got = con.execute(
            """
            select commune_code, tier, rank_departement, list_filter(reasons, r -> r.indicator_id = 'gp_apl')[1] as apl
            from programmes.medical_deserts_targets
            where eligible and departement_code = ?
            order by commune_code
            """,
            [SAONE_ET_LOIRE],
        ).pl()
    assert 50 < expected.height < 564  # a real list, not everything nor nothing
    assert got["commune_code"].to_list() == expected["commune_code"].to_list()
    assert set(got["tier"]) == {1}  # GP density and distances are not loaded: tier 2 cannot hold
    values = got.select("commune_code", pl.col("apl").struct.field("value")).join(expected, on="commune_code")
    assert (values["value"] - values["apl"]).abs().max() < 1e-9
    assert set(got.select(pl.col("apl").struct.field("vintage"))["vintage"]) == {"2023"}
    assert sorted(got["rank_departement"].to_list()) == list(range(1, got.height + 1))


def test_ranks_in_saone_et_loire_follow_the_population_when_only_it_is_known(real_apl_build):
    """share_75_plus and dist_gp_km are absent from this build: each counts 0, population decides."""
    with duckdb.connect(str(real_apl_build.warehouse), read_only=True) as con:
        rows = con.execute(
            """
            select commune_code, population, rank_departement, missing_indicators
            from programmes.medical_deserts_targets
            where eligible and departement_code = ?
            order by rank_departement
            """,
            [SAONE_ET_LOIRE],
        ).pl()
    by_population = rows.sort(["population", "commune_code"], descending=[True, False])
    assert rows["commune_code"].to_list() == by_population["commune_code"].to_list()
    assert set(rows["missing_indicators"].list.join(",")) == {"dist_gp_km,gp_per_10k,share_75_plus"}


def test_explain_le_creusot_down_to_the_real_workbook(real_apl_build, monkeypatch):
    monkeypatch.setenv("TERRITOIRES_HOME", str(real_apl_build.root))
    result = CliRunner().invoke(main, ["target", "medical_deserts", "--explain", "71153"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "71153 Le Creusot" in out and "ELIGIBLE, tier 1" in out
    assert "gp_apl                                  2.1 [2023]  < 2.5          pass" in out
    lineage = [line for line in out.splitlines() if line.strip().startswith("drees_apl") and "2023" in line]
    assert any(f"sha256 {APL_SHA256}" in line for line in lineage), out
    top = CliRunner().invoke(main, ["target", "medical_deserts", "--departement", "71", "--top", "10"], catch_exceptions=False)
    assert top.exit_code == 0 and "showing 10" in top.stdout
    print(top.stdout)


def test_the_quartier_programme_runs_on_the_real_occitanie_file_with_its_values(real_apl_build, real_data):
    """PrépApp ranks the 105 real QPV of Occitanie (2015 generation) on the file's own statistics."""
    with duckdb.connect() as con:
        published = con.execute(
            "select code_qp as code, ind_jeune::double as youth_index, tx_tot_empl::double as employment_rate, "
            "abcde::double as job_seekers from read_csv(?, all_varchar = true)",
            [str(real_data / "qpv" / "qp.csv")],
        ).pl()
    with duckdb.connect(str(real_apl_build.warehouse), read_only=True) as con:
        got = con.execute(
            """
            select code, unit, eligible, tier, commune_code,
                   list_filter(reasons, r -> r.indicator_id = 'youth_index')[1].value as youth_index,
                   list_filter(reasons, r -> r.indicator_id = 'employment_rate')[1].value as employment_rate,
                   list_filter(priority, p -> p.indicator_id = 'job_seekers')[1].value as job_seekers
            from programmes.priority_neighbourhoods_targets
            """
        ).pl()
    assert got.height == published.height == 105 and set(got["unit"]) == {"qpv"}
    joined = got.join(published, on="code", suffix="_file")
    assert joined.height == 105 and joined["commune_code"].null_count() == 0
    for column in ("youth_index", "employment_rate", "job_seekers"):
        assert joined[column].equals(joined[f"{column}_file"], check_names=False), column
    # eligibility by hand from the file: at least as many young as old; tier 1 when under half of the 15–64 work
    expected = published.select(
        "code",
        pl.when(pl.col("youth_index") >= 1).then(pl.when(pl.col("employment_rate") < 50).then(1).otherwise(2)).alias("tier"),
    )
    assert dict(zip(got["code"], got["tier"])) == dict(zip(expected["code"], expected["tier"]))
