"""Programmes of hospitals and quartiers on the sample build.

A hospital's catchment is recomputed by brute force (every commune against every hospital,
straight-line distances in the zone's projection) and its indicators summed by hand from the
catchment's communes; the rankings of the hospital and quartier programmes are recomputed
from their rules; every programme answers `territoires target` with --top, --explain and
--changes.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

from pipelines.cli import main
from pipelines.programmes.rules import ProgrammeRuleError, load_rules

pytestmark = pytest.mark.integration

RADIUS_KM = 30.0  # dbt var catchment_radius_km


def read(db: Path, sql: str, params: list | None = None) -> pl.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).pl()


@pytest.fixture(scope="module")
def warehouse(sample_build) -> Path:
    home, _ = sample_build
    return home.warehouse


def brute_force_catchments(db: Path) -> pl.DataFrame:
    """Every (hospital, commune) within the radius, or whose nearest hospital it is: all pairs measured."""
    hospitals = read(
        db,
        """
        select facility_id as code, zone, x, y from intermediate.int_facility_points
        where kind = 'hospital' and vintage = (select max(vintage) from intermediate.int_facility_points where kind = 'hospital')
        """,
    )
    communes = read(db, "select commune_code, zone, x, y from intermediate.int_commune_reference_points")
    pairs = communes.join(hospitals, on="zone", suffix="_hospital").with_columns(
        distance_km=((pl.col("x") - pl.col("x_hospital")) ** 2 + (pl.col("y") - pl.col("y_hospital")) ** 2).sqrt() / 1000
    )
    nearest = pairs.group_by("commune_code").agg(pl.col("code").sort_by("distance_km").first().alias("nearest"))
    pairs = pairs.join(nearest, on="commune_code").with_columns(
        within=pl.col("distance_km") <= RADIUS_KM, is_nearest=pl.col("code") == pl.col("nearest")
    )
    kept = pairs.filter(pl.col("within") | pl.col("is_nearest"))
    membership = (
        pl.when(pl.col("within") & pl.col("is_nearest")).then(pl.lit("radius and nearest"))
        .when(pl.col("within")).then(pl.lit("radius")).otherwise(pl.lit("nearest"))
    )  # fmt: skip
    return kept.select("code", "commune_code", "distance_km", membership.alias("membership")).sort("code", "commune_code")


def test_the_catchments_are_those_a_brute_force_search_finds(warehouse):
    expected = brute_force_catchments(warehouse)
    got = read(warehouse, "select code, commune_code, distance_km, membership from programmes.catchments").sort("code", "commune_code")
    assert got.select("code", "commune_code", "membership").equals(expected.select("code", "commune_code", "membership"))
    assert np.allclose(got["distance_km"].to_numpy(), expected["distance_km"].to_numpy(), rtol=1e-9, atol=1e-9)
    # every commune of the zones with a hospital has one nearest hospital; a catchment has communes of both kinds
    nearest = got.filter(pl.col("membership") != "radius")
    assert nearest["commune_code"].is_unique().all()
    assert {"nearest", "radius and nearest"} <= set(got["membership"]) <= {"radius", "nearest", "radius and nearest"}
    assert got.filter(pl.col("membership") == "nearest")["distance_km"].min() > RADIUS_KM


def test_a_hospital_s_indicators_add_up_its_catchment(warehouse):
    """The 71 préfecture's centre hospitalier: population, people in deserts and GPs of its catchment, by hand."""
    code = read(
        warehouse,
        "select code from programmes.units where unit = 'hospital' and commune_code = "
        "(select chef_lieu_code from geo.departement where departement_code = '71')",
    )["code"][0]
    communes = read(warehouse, "select commune_code from programmes.catchments where code = ?", [code])["commune_code"]
    values = read(
        warehouse,
        """
        select l.code as commune_code, l.indicator_id, l.value from indicators.long as l
        where l.level = 'commune' and l.indicator_id in ('gp_apl', 'gp_count')
          and l.vintage = (select max(vintage) from indicators.long as m where m.level = 'commune' and m.indicator_id = l.indicator_id)
        """,
    ).pivot(on="indicator_id", index="commune_code", values="value")
    people = read(warehouse, "select commune_code, population from geo.commune")
    catchment = people.filter(pl.col("commune_code").is_in(communes.implode())).join(values, on="commune_code", how="left")
    population = catchment["population"].sum()
    in_desert = catchment.filter(pl.col("gp_apl") < 2.5)["population"].sum()
    with_apl = catchment.filter(pl.col("gp_apl").is_not_null())["population"].sum()
    gps = catchment["gp_count"].sum()
    got = dict(read(warehouse, "select indicator_id, value from programmes.unit_values where unit = 'hospital' and code = ?", [code]).iter_rows())
    assert got["catchment_population"] == population == read(
        warehouse, "select population from programmes.units where unit = 'hospital' and code = ?", [code])["population"][0]  # fmt: skip
    assert got["catchment_commune_count"] == len(communes)
    assert got["catchment_desert_population"] == in_desert > 0  # the sample's deserts of 71 are around it
    assert got["catchment_desert_share"] == pytest.approx(100 * in_desert / with_apl)
    assert got["catchment_gp_count"] == gps
    assert got["catchment_gp_per_10k"] == pytest.approx(10_000 * gps / population)


def unit_values(db: Path, unit: str) -> pl.DataFrame:
    """One row per unit of that kind, one column per indicator."""
    long = read(db, "select code, indicator_id, value from programmes.unit_values where unit = ?", [unit])
    return long.pivot(on="indicator_id", index="code", values="value")


def hand_ranking(values: pl.DataFrame, programme: str) -> pl.DataFrame:
    """Tier, score and rank of every eligible unit, from the rule file, computed here with polars."""
    rules = load_rules()[programme]
    ops = {"<": pl.Expr.__lt__, "<=": pl.Expr.__le__, ">": pl.Expr.__gt__, ">=": pl.Expr.__ge__, "=": pl.Expr.__eq__}

    def holds(criterion) -> pl.Expr:
        return ops[criterion.operator](pl.col(criterion.indicator), criterion.threshold).fill_null(False)

    common = pl.all_horizontal([holds(c) for c in rules.eligibility if c.tier is None] or [pl.lit(True)])
    tiers = sorted({c.tier for c in rules.eligibility if c.tier is not None})
    tier = pl.lit(None, pl.Int64)
    for number in reversed(tiers):
        own = pl.all_horizontal([holds(c) for c in rules.eligibility if c.tier == number])
        tier = pl.when(common & own).then(pl.lit(number)).otherwise(tier)
    eligible = values.with_columns(tier=tier).filter(pl.col("tier").is_not_null())
    parts = [
        (((pl.col(p.indicator) if p.higher_is_priority else -pl.col(p.indicator)).rank("min") - 1)
         / (pl.col(p.indicator).count() - 1) * p.weight).fill_null(0)
        for p in rules.priority
    ]  # fmt: skip
    total = sum(p.weight for p in rules.priority)
    scored = eligible.with_columns(score=(100 * pl.sum_horizontal(parts) / total).round(4))
    return scored.sort(["tier", "score", "code"], descending=[False, True, False]).with_row_index("rank", offset=1)


@pytest.mark.parametrize("programme, unit", [("hospital_outreach", "hospital"), ("priority_neighbourhoods", "qpv")])
def test_the_ranking_of_hospitals_and_quartiers_matches_a_hand_computation(warehouse, programme, unit):
    expected = hand_ranking(unit_values(warehouse, unit), programme)
    got = read(warehouse, f"select * from programmes.{programme}_targets where eligible order by rank_france")
    assert expected.height > 1, "the sample should give the programme several units"
    assert got["code"].to_list() == expected["code"].to_list()
    assert got["tier"].to_list() == expected["tier"].to_list()
    assert np.allclose(got["score"].to_numpy(), expected["score"].to_numpy(), atol=1e-3)
    assert set(got["unit"]) == {unit} and got["commune_code"].null_count() == 0


def test_a_quartier_keeps_the_statistics_of_its_file(warehouse):
    """The sample's story: the first QPV of 69123 has many young people and little work."""
    row = read(
        warehouse,
        "select * from programmes.priority_neighbourhoods_targets where commune_code in "
        "(select commune_code from geo.commune where commune_code = '69123') order by code limit 1",
    ).to_dicts()[0]
    reasons = {r["indicator_id"]: r["value"] for r in row["reasons"]}
    statistics = read(
        warehouse.parent / "work" / "warehouse.duckdb",
        "select youth_index, employment_rate from staging.stg_anct_qpv__statistics where qpv_code = ?", [row["code"]],
    ).to_dicts()[0]
    assert reasons["youth_index"] == statistics["youth_index"] and reasons["employment_rate"] == statistics["employment_rate"]
    assert row["eligible"] and row["tier"] == 1 and row["code"].startswith(("QP", "QN"))


@pytest.fixture
def run(sample_build, monkeypatch):
    home, _ = sample_build
    monkeypatch.setenv("TERRITOIRES_HOME", str(home.root))

    def invoke(*args):
        return CliRunner().invoke(main, list(args), catch_exceptions=False)

    return invoke


def test_every_programme_answers_with_its_unit(run, warehouse):
    listing = {r["programme"]: r for r in json.loads(run("target", "--list", "--format", "json").stdout)}
    for name in ("hospital_outreach", "priority_neighbourhoods", "town_centres", "seniors", "outreach_paca", "cafes"):
        assert listing[name]["unit"] == load_rules()[name].unit and listing[name]["eligible"] >= 1, name
        top = json.loads(run("target", name, "--top", "5", "--format", "json").stdout)
        assert 1 <= len(top) <= 5 and [r["rank_france"] for r in top] == list(range(1, len(top) + 1))
        explained = run("target", name, "--explain", top[0]["code"])
        assert explained.exit_code == 0 and f"{top[0]['code']} {top[0]['name']}" in explained.stdout, explained.stdout
        changes = run("target", name, "--changes")
        assert changes.exit_code == 0 and "change(s) since the previous published build" in changes.stdout


def test_explaining_a_hospital_lists_its_catchment_those_in_need_first(run, warehouse):
    code = read(warehouse, "select code from programmes.hospital_outreach_targets where eligible order by rank_france limit 1")["code"][0]
    data = json.loads(run("target", "hospital_outreach", "--explain", code, "--format", "json").stdout)
    catchment = pl.DataFrame(data["catchment"])
    assert catchment.height == read(warehouse, "select count(*) as n from programmes.catchments where code = ?", [code])["n"][0]
    deserts = catchment["is_medical_desert"].fill_null(False).to_list()
    assert deserts == sorted(deserts, reverse=True)  # medical deserts first
    table = run("target", "hospital_outreach", "--explain", code).stdout
    assert "Catchment:" in table and "DESERT" in table and "hospital in" in table
    unknown = run("target", "hospital_outreach", "--explain", "71153")
    assert unknown.exit_code == 1 and "FINESS number" in unknown.stderr


def test_a_rule_file_may_only_read_the_indicators_of_its_unit(tmp_path):
    text = (Path(load_rules()["hospital_outreach"].path)).read_text(encoding="utf-8")
    (tmp_path / "hospital_outreach.yml").write_text(text.replace("catchment_gp_per_10k", "gp_per_10k"), encoding="utf-8")
    with pytest.raises(ProgrammeRuleError, match="unknown indicator id 'gp_per_10k' for a programme of hospital units"):
        load_rules(rules_dir=tmp_path)
    (tmp_path / "hospital_outreach.yml").write_text(text.replace("unit: hospital", "unit: hopital"), encoding="utf-8")
    with pytest.raises(ProgrammeRuleError, match="'hopital' is not one of commune, hospital, qpv"):
        load_rules(rules_dir=tmp_path)
