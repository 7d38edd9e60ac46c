"""Programme targets of communes on the sample build: eligibility and scores match a hand
computation, ranks are deterministic, a changed indicator moves exactly the expected communes
in the changes tables and raises the rule's alerts, and `territoires target` lists, filters
and explains. The programmes of hospitals and quartiers are in test_programmes_units.py."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest
from click.testing import CliRunner
from source_checks import dbt_build

from pipelines.cli import main
from pipelines.programmes.inputs import write_published_targets
from pipelines.programmes.rules import load_rules
from pipelines.warehouse.publish import publish
from pipelines.settings import DataHome

pytestmark = pytest.mark.integration

# The programmes of commune units, and every programme.
COMMUNE_PROGRAMMES = ["cafes", "medical_deserts", "mobility", "outreach_paca", "seniors", "town_centres"]
PROGRAMMES = sorted([*COMMUNE_PROGRAMMES, "hospital_outreach", "priority_neighbourhoods"])


def read(db: Path, sql: str, params: list | None = None) -> pl.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).pl()


def latest_values(db: Path) -> pl.DataFrame:
    """One row per commune (metro + DROM), one column per indicator: its latest vintage."""
    long = read(
        db,
        """
        select l.code as commune_code, l.indicator_id, l.value
        from indicators.long as l
        where l.level = 'commune'
          and l.vintage = (select max(vintage) from indicators.long as m
                           where m.level = 'commune' and m.indicator_id = l.indicator_id)
        """,
    )
    communes = read(db, "select commune_code, region_code from geo.commune where zone in ('metro', 'drom')")
    return communes.join(long.pivot(on="indicator_id", index="commune_code", values="value"), on="commune_code", how="left")


def targets(db: Path, programme: str) -> pl.DataFrame:
    return read(db, f"select * from programmes.{programme}_targets order by code")


def hand_tiers(values: pl.DataFrame) -> dict[str, pl.Expr]:
    """Each programme's tier, written out by hand from the issue (null = not eligible)."""
    c = pl.col
    first = pl.when
    village, one = c("population") < 3500, c("cafe_count") == 1
    hinterland = (c("region_code") == "93") & (c("is_coastal") == 0)
    poor, remote = c("poverty_rate") >= 18, c("dist_france_services_km") >= 10
    centre = c("centre_programme").is_in([1, 2]) & (c("shops_net_change_3y") < 0)  # category ranks: acv 1, pvd 2
    return {
        "cafes": first(village & (c("cafe_count") == 0)).then(1)
        .when(village & one & (c("cafe_closures_3y") >= 1)).then(2)
        .when(village & one & (c("share_75_plus") >= 12)).then(3)
        .when(village & one & (c("population_change_rate") < 0)).then(4)
        .when(village & one).then(5),
        "medical_deserts": first(c("gp_apl") < 2.5).then(1)
        .when((c("gp_per_10k") < 3) & (c("dist_gp_km") >= 10)).then(2),
        "mobility": first((c("households_without_car_share") >= 10) & (c("is_rural") == 1)).then(1)
        .when((c("households_without_car_share") >= 10) & (c("transit_departures_per_day") < 20)).then(2),
        "seniors": first((c("share_75_plus") >= 12) & (c("dist_senior_residence_km") >= 10)).then(1)
        .when((c("share_75_plus") >= 12) & (c("dist_senior_residence_km") >= 5)).then(2),
        "town_centres": first(centre & (c("shops_per_1000") < 8)).then(1).when(centre & (c("shops_per_1000") >= 8)).then(2),
        "outreach_paca": first(hinterland & poor & remote).then(1).when(hinterland & poor).then(2)
        .when(hinterland & remote).then(3),
    }  # fmt: skip


def test_the_rule_files_still_say_what_the_hand_computation_assumes():
    rules = load_rules()
    written = {
        name: [(c.indicator, c.operator, c.threshold, c.tier) for c in rule.eligibility] for name, rule in rules.items()
    }
    assert written["cafes"] == [
        ("population", "<", 3500, None), ("cafe_count", "=", 0, 1), ("cafe_count", "=", 1, 2), ("cafe_closures_3y", ">=", 1, 2),
        ("cafe_count", "=", 1, 3), ("share_75_plus", ">=", 12, 3), ("cafe_count", "=", 1, 4),
        ("population_change_rate", "<", 0, 4), ("cafe_count", "=", 1, 5),
    ]  # fmt: skip
    assert written["medical_deserts"] == [("gp_apl", "<", 2.5, 1), ("gp_per_10k", "<", 3, 2), ("dist_gp_km", ">=", 10, 2)]
    assert written["mobility"] == [
        ("households_without_car_share", ">=", 10, None), ("is_rural", "=", 1, 1), ("transit_departures_per_day", "<", 20, 2),
    ]  # fmt: skip
    assert written["seniors"] == [
        ("share_75_plus", ">=", 12, None), ("dist_senior_residence_km", ">=", 10, 1), ("dist_senior_residence_km", ">=", 5, 2),
    ]  # fmt: skip
    assert written["town_centres"] == [
        ("centre_programme", "in", ("pvd", "acv"), None), ("shops_net_change_3y", "<", 0, None),
        ("shops_per_1000", "<", 8, 1), ("shops_per_1000", ">=", 8, 2),
    ]  # fmt: skip
    assert written["outreach_paca"] == [
        ("is_coastal", "=", 0, None), ("poverty_rate", ">=", 18, 1), ("dist_france_services_km", ">=", 10, 1),
        ("poverty_rate", ">=", 18, 2), ("dist_france_services_km", ">=", 10, 3),
    ]  # fmt: skip
    assert {name: rule.unit for name, rule in rules.items()} == {
        **{name: "commune" for name in COMMUNE_PROGRAMMES}, "hospital_outreach": "hospital", "priority_neighbourhoods": "qpv",
    }  # fmt: skip
    assert rules["outreach_paca"].filters["regions"] == ("93",)
    assert all(not any(rule.filters.values()) for name, rule in rules.items() if name != "outreach_paca")


@pytest.mark.parametrize("programme", COMMUNE_PROGRAMMES)
def test_eligibility_matches_a_hand_computation(sample_build, programme):
    home, _ = sample_build
    values = latest_values(home.warehouse)
    expected = values.select("commune_code", hand_tiers(values)[programme].alias("tier"))
    got = targets(home.warehouse, programme)
    assert got.height == values.height == 266  # every commune of metropolitan France and the DROM
    assert (got["code"] == got["commune_code"]).all() and set(got["unit"]) == {"commune"}
    assert dict(zip(got["code"], got["tier"])) == dict(zip(expected["commune_code"], expected["tier"]))
    assert got["eligible"].to_list() == got["tier"].is_not_null().to_list()
    assert got.filter(pl.col("eligible")).height > 0, "the sample should give every programme some communes"


@pytest.mark.parametrize(
    "programme, weights",
    [
        ("outreach_paca", {"poverty_rate": (3, True), "dist_france_services_km": (2, True), "dist_gp_km": (1, True),
                           "median_living_standard": (1, False)}),
        ("cafes", {"population": (2, True), "density_level": (1, True), "dist_france_services_km": (1, True),
                   "frr_class": (1, False)}),
    ],
)  # fmt: skip
def test_scores_and_ranks_match_a_hand_computation(sample_build, programme, weights):
    """Score = weighted mean of percent ranks among the eligible communes that have the value
    (a commune without it counts 0); rank by tier, score, code."""
    home, _ = sample_build
    got = targets(home.warehouse, programme).filter(pl.col("eligible"))
    values = latest_values(home.warehouse).filter(pl.col("commune_code").is_in(got["code"].to_list()))
    n = values.height
    parts = [
        (((pl.col(name) if higher else -pl.col(name)).rank("min") - 1) / (pl.col(name).count() - 1) * weight).fill_null(0)
        for name, (weight, higher) in weights.items()
    ]
    total = sum(weight for weight, _ in weights.values())
    hand = values.select(pl.col("commune_code").alias("code"), (100 * pl.sum_horizontal(parts) / total).round(4).alias("hand_score"))
    joined = got.join(hand, on="code")
    assert joined.height == got.height
    assert (joined["score"] - joined["hand_score"]).abs().max() < 1e-3
    order = joined.sort(["tier", "score", "code"], descending=[False, True, False])
    assert order["rank_france"].to_list() == list(range(1, n + 1))
    for _, group in order.group_by("departement_code"):
        assert sorted(group["rank_departement"].to_list()) == list(range(1, group.height + 1))
        assert group["rank_departement"].to_list() == group.sort("rank_france")["rank_departement"].to_list()


def test_reasons_give_values_vintages_and_thresholds(sample_build):
    home, _ = sample_build
    row = read(home.warehouse, "select * from programmes.cafes_targets where eligible and tier = 1 limit 1").to_dicts()[0]
    population, no_cafe, one_cafe = row["reasons"][:3]
    assert (population["indicator_id"], population["operator"], population["threshold"], population["passed"]) == (
        "population", "<", "3500", True)  # fmt: skip
    assert population["value"] == row["population"] and population["vintage"] == "2026"
    assert population["source_vintages"] == "etalab_decoupage 2026"
    assert (no_cafe["tier"], no_cafe["value"], no_cafe["passed"], one_cafe["passed"]) == (1, 0.0, True, False)
    assert no_cafe["vintage"] == "2026-11"
    assert f"population {row['population']} [2026] < 3500: yes; tier 1 cafe_count 0 [2026-11] = 0: yes" in row["reason_summary"]
    assert len(row["reasons"]) == len(load_rules()["cafes"].eligibility)
    assert [p["indicator_id"] for p in row["priority"]] == ["population", "density_level", "dist_france_services_km", "frr_class"]
    assert row["rule_version"] == load_rules()["cafes"].version


def test_the_union_views_hold_every_programme(sample_build):
    home, _ = sample_build
    counts = read(home.warehouse, "select programme, count(*) as n from programmes.targets group by 1")
    units = read(home.warehouse, "select unit, count(*) as n from programmes.units group by 1")
    per_unit = dict(zip(units["unit"], units["n"]))
    assert per_unit["commune"] == 266 and per_unit["hospital"] >= 5 and per_unit["qpv"] >= 5
    unit_of = {name: rule.unit for name, rule in load_rules().items()}
    assert dict(zip(counts["programme"], counts["n"])) == {p: per_unit[unit_of[p]] for p in PROGRAMMES}
    rules = read(home.warehouse, "select programme, version, rule_sha256 from programmes.rules order by 1")
    assert rules["programme"].to_list() == sorted(PROGRAMMES)
    # first build of this data home: nothing published before, so no previous list and no change
    assert read(home.warehouse, "select count(*) as n from programmes.changes")["n"][0] == 0


# --------------------------------------------------------------------------- changes


def run_programme_models(home: DataHome, tmp: Path) -> None:
    """dbt build of the programme models only, on a data home's build database.

    As the build's programmes/published_targets asset does first, the lists of the
    published warehouse are read into the build database.
    """
    with duckdb.connect(str(home.work_db)) as con:
        write_published_targets(con, home.warehouse)
    result = dbt_build(home.work_db, tmp, "path:models/marts/programmes")
    assert result.returncode == 0, result.stdout[-3000:]


@pytest.fixture(scope="module")
def changed_build(sample_build, tmp_path_factory):
    """A copy of the sample build where three villages' café counts change, programmes rebuilt.

    A: two cafés → none (enters the list); B: one café → none (lost its last café: tier 2 to 5 → 1);
    C: an eligible village whose café count is missing (must leave the list, not stay silently).
    """
    source, _ = sample_build
    root = tmp_path_factory.mktemp("changed_home")
    shutil.copytree(source.root, root / "home", ignore=shutil.ignore_patterns("dagster"))
    home = DataHome(root / "home").ensure()
    before = {p: targets(home.work_db, p) for p in PROGRAMMES}
    cafes = before["cafes"]
    values = latest_values(home.work_db).select("commune_code", "cafe_count")
    small = cafes.filter(pl.col("population") < 3500).join(values, on="commune_code")
    a = small.filter(pl.col("cafe_count") == 2)["code"][0]
    b = small.filter(pl.col("cafe_count") == 1)["code"][0]
    c = cafes.filter(pl.col("tier") == 1).sort("rank_france")["code"][-1]
    with duckdb.connect(str(home.work_db)) as con:
        where = "indicator_id = 'cafe_count' and level = 'commune' and code = ?"
        con.execute(f"update indicators.long set value = 0, numerator = 0 where {where}", [a])
        con.execute(f"update indicators.long set value = 0, numerator = 0 where {where}", [b])
        con.execute(f"delete from indicators.long where {where}", [c])
    run_programme_models(home, root)
    return home, before, {"a": a, "b": b, "c": c}


def test_a_changed_indicator_moves_exactly_the_expected_communes(changed_build):
    home, before, codes = changed_build
    changes = read(home.work_db, "select * from programmes.cafes_changes order by code")
    assert dict(zip(changes["code"], changes["change"])) == {
        codes["a"]: "entered", codes["b"]: "tier_changed", codes["c"]: "left",
    }  # fmt: skip
    # A and B had a café in the published list and have none now; C's count is unknown
    assert dict(zip(changes["code"], changes["alert"])) == {
        codes["a"]: "lost its last café", codes["b"]: "lost its last café", codes["c"]: None,
    }  # fmt: skip
    b = changes.filter(pl.col("code") == codes["b"]).to_dicts()[0]
    assert b["previous_tier"] in (2, 3, 4, 5) and b["tier"] == 1
    published_build = read(home.warehouse, "select build_id from meta.about")["build_id"][0]
    assert set(changes["previous_build_id"]) == {published_build}
    assert set(changes["rank_threshold"]) == {load_rules()["cafes"].rank_threshold}
    # the other programmes do not read cafe_count: nothing changed, not even a rank
    assert read(home.work_db, "select count(*) as n from programmes.changes where programme <> 'cafes'")["n"][0] == 0
    for programme in (p for p in PROGRAMMES if p != "cafes"):
        after = targets(home.work_db, programme)
        assert after.select("code", "tier", "score", "rank_france", "rank_departement").equals(
            before[programme].select("code", "tier", "score", "rank_france", "rank_departement")
        ), f"{programme}: ranks changed on a rebuild with the same indicators"


def test_a_commune_missing_an_indicator_is_not_silently_eligible(changed_build):
    home, _, codes = changed_build
    row = read(home.work_db, "select * from programmes.cafes_targets where code = ?", [codes["c"]]).to_dicts()[0]
    assert row["eligible"] is False and row["rank_france"] is None and row["score"] is None
    assert row["missing_indicators"] == ["cafe_count"]
    cafe = [r for r in row["reasons"] if r["indicator_id"] == "cafe_count"]
    assert [(r["value"], r["passed"]) for r in cafe] == [(None, None)] * 5
    assert "tier 1 cafe_count (no value) = 0: missing" in row["reason_summary"]


def test_the_changes_are_published_and_shown_by_the_cli(changed_build, monkeypatch):
    home, _, codes = changed_build
    publish(home, build_id="20990101T000000Z-change", sample=True)
    monkeypatch.setenv("TERRITOIRES_HOME", str(home.root))
    result = CliRunner().invoke(main, ["target", "cafes", "--changes", "--format", "json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    expected = {codes["a"]: "entered", codes["b"]: "tier_changed", codes["c"]: "left"}
    assert {r["code"]: r["change"] for r in shown} == expected
    table = CliRunner().invoke(main, ["target", "cafes", "--changes"], catch_exceptions=False)
    assert "3 change(s) since the previous published build" in table.stdout
    assert table.stdout.count("lost its last café") == 2


@pytest.fixture(scope="module")
def filtered_build(sample_build, tmp_path_factory):
    """A copy of the sample build where the cafes rule (as loaded) is limited to département 71."""
    source, _ = sample_build
    root = tmp_path_factory.mktemp("filtered_home")
    shutil.copytree(source.root, root / "home", ignore=shutil.ignore_patterns("dagster"))
    home = DataHome(root / "home").ensure()
    before = targets(home.work_db, "cafes")
    with duckdb.connect(str(home.work_db)) as con:  # as if the rule files said so
        con.execute(
            "update raw.programme_rules__programmes set departements = ['71'], version = '1.1-test' where programme = 'cafes'"
        )
        # seniors limited to one zone d'emploi (INSEE's levels filter as the others do)
        con.execute(
            "update raw.programme_rules__programmes set zones_emploi = ['2730'], version = '2.1-test' where programme = 'seniors'"
        )
    run_programme_models(home, root)
    return home, before


def test_a_filter_on_an_insee_level_keeps_the_programme_in_that_zone(filtered_build):
    home, _ = filtered_build
    seniors = targets(home.work_db, "seniors")
    in_zone = set(read(home.work_db, "select commune_code from geo.commune where zone_emploi_code = '2730'")["commune_code"])
    assert in_zone and set(seniors.filter(pl.col("in_area"))["code"]) == in_zone
    assert set(seniors.filter(pl.col("eligible"))["code"]) <= in_zone


def test_filters_keep_the_programme_in_its_area_and_changes_name_the_rule_versions(filtered_build):
    home, before = filtered_build
    after = targets(home.work_db, "cafes")
    assert after.filter(pl.col("in_area"))["departement_code"].unique().to_list() == ["71"]
    eligible = after.filter(pl.col("eligible"))
    assert set(eligible["departement_code"]) == {"71"}
    assert eligible["rank_france"].sort().to_list() == list(range(1, eligible.height + 1))
    was = before.filter(pl.col("eligible"))
    assert set(eligible["code"]) == set(was.filter(pl.col("departement_code") == "71")["code"])
    outside = after.filter(~pl.col("in_area")).to_dicts()[0]
    assert (outside["eligible"], outside["tier"], outside["rank_france"]) == (False, None, None)
    changes = read(home.work_db, "select * from programmes.cafes_changes")
    left = set(changes.filter(pl.col("change") == "left")["code"])
    assert left == set(was.filter(pl.col("departement_code") != "71")["code"])
    assert "entered" not in set(changes["change"])
    version = load_rules()["cafes"].version
    assert set(changes["rule_version"]) == {"1.1-test"} and set(changes["previous_rule_version"]) == {version}


# --------------------------------------------------------------------------- the CLI


@pytest.fixture
def run(sample_build, monkeypatch):
    home, _ = sample_build
    monkeypatch.setenv("TERRITOIRES_HOME", str(home.root))

    def invoke(*args):
        return CliRunner().invoke(main, list(args), catch_exceptions=False)

    return invoke


def test_target_list_shows_versions_and_the_build(run, sample_build):
    home, _ = sample_build
    build_id = read(home.warehouse, "select build_id from meta.about")["build_id"][0]
    records = json.loads(run("target", "--list", "--format", "json").stdout)
    assert [r["programme"] for r in records] == sorted(PROGRAMMES)
    for record in records:
        assert record["rule_file_version"] == record["computed_version"] == load_rules()[record["programme"]].version
        assert record["build_id"] == build_id and record["eligible"] > 0
    table = run("target", "--list")
    assert table.exit_code == 0 and build_id in table.stdout and "Réouverture de cafés" in table.stdout


def test_target_filters_by_departement_and_region_and_keeps_the_top(run, sample_build):
    home, _ = sample_build
    output = run("target", "cafes", "--departement", "71", "--top", "3", "--format", "csv").stdout
    rows = list(csv.DictReader(io.StringIO(output)))
    assert [r["departement_code"] for r in rows] == ["71"] * 3
    assert [r["rank_departement"] for r in rows] == ["1", "2", "3"]
    expected = read(
        home.warehouse,
        "select code from programmes.cafes_targets where eligible and departement_code = '71' "
        "order by rank_france limit 3",
    )
    assert [r["code"] for r in rows] == expected["code"].to_list()
    region = json.loads(run("target", "medical_deserts", "--region", "27", "--top", "0", "--format", "json").stdout)
    eligible_27 = read(
        home.warehouse, "select count(*) as n from programmes.medical_deserts_targets where eligible and region_code = '27'"
    )
    assert len(region) == eligible_27["n"][0] and {r["region_code"] for r in region} == {"27"}
    table = run("target", "cafes", "--top", "5")
    assert table.exit_code == 0 and f"showing 5; rule version {load_rules()['cafes'].version}" in table.stdout


def test_target_explain_prints_the_chain_to_the_raw_snapshots(run, sample_build):
    home, _ = sample_build
    tier_1 = "select code from programmes.medical_deserts_targets where tier = 1 order by code limit 1"
    code = read(home.warehouse, tier_1)["code"][0]
    result = run("target", "medical_deserts", "--explain", code)
    assert result.exit_code == 0
    out = result.stdout
    assert "ELIGIBLE, tier 1" in out and "gp_apl" in out and "< 2.5" in out and "pass" in out
    apl = "select sha256 from meta.source_snapshots where source = 'drees_apl' and vintage = '2023'"
    apl_sha = read(home.warehouse, apl)["sha256"][0]
    assert f"drees_apl              2023      apl_medecins_generalistes.xlsx           sha256 {apl_sha}" in out
    assert "gp_apl                         ← drees_apl 2023" in out
    data = json.loads(run("target", "medical_deserts", "--explain", code, "--format", "json").stdout)
    lineage = {(r["indicator_id"], r["source"], r["vintage"]) for r in data["lineage"] if r["sha256"]}
    assert ("gp_apl", "drees_apl", "2023") in lineage and ("population", "etalab_decoupage", "2026") in lineage
    assert ("dist_gp_km", "commune_locations", "2026") in lineage  # a source named without its vintage
    assert all(len(r["sha256"]) == 64 for r in data["lineage"] if r["sha256"])


def test_target_errors_say_what_to_do(run):
    unknown = run("target", "cafe")
    assert unknown.exit_code == 1
    known = ", ".join(PROGRAMMES)
    assert f"unknown programme 'cafe'; the programmes are: {known}" in unknown.stderr
    assert "no departement '7' in geo.departement" in run("target", "cafes", "--departement", "7").stderr
    assert "'99999' is not one of the commune units of" in run("target", "cafes", "--explain", "99999").stderr
    assert "name a programme" in run("target").stderr
    assert "target" in run("target", "--help").stdout
