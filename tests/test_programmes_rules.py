"""Programme rule files: the shipped ones load, and every mistake is refused with a clear
message before anything is built."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pipelines.programmes.rules import (
    RULES_DIR,
    ProgrammeRuleError,
    check_dbt_models,
    get_rules,
    indicator_formulas,
    load_rules,
    rule_tables,
)

PROGRAMMES = {
    "cafes", "hospital_outreach", "medical_deserts", "mobility", "outreach_paca", "priority_neighbourhoods", "seniors",
    "town_centres",
}

GOOD = """
programme: {programme}
title: Test programme
version: "0.1"
users: the tests
eligibility:
  - indicator: population
    operator: "<"
    threshold: 3500
  - indicator: cafe_count
    operator: "="
    threshold: 0
    tier: 1
  - indicator: cafe_count
    operator: "="
    threshold: 1
    tier: 2
priority:
  - indicator: population
    weight: 2
    higher_is_priority: true
  - indicator: frr_class
    weight: 1
    higher_is_priority: false
    normalise: min_max
changes:
  rank_threshold: 3
"""


def write_rule(folder: Path, text: str, programme: str = "trial") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{programme}.yml"
    path.write_text(textwrap.dedent(text).format(programme=programme), encoding="utf-8")
    return path


def refused(tmp_path: Path, text: str, *fragments: str) -> str:
    write_rule(tmp_path / "rules", text)
    with pytest.raises(ProgrammeRuleError) as error:
        load_rules(rules_dir=tmp_path / "rules")
    message = str(error.value)
    assert "trial.yml" in message and "nothing was built" in message
    for fragment in fragments:
        assert fragment in message, message
    return message


# ---------------------------------------------------------------- the shipped rule files


def test_every_programme_of_the_issue_has_a_valid_rule_file_and_its_models():
    rules = load_rules()
    assert set(rules) == PROGRAMMES
    check_dbt_models(rules)
    for rule in rules.values():
        assert rule.version and rule.users and rule.eligibility and rule.priority
        assert rule.rule_file == f"pipelines/programmes/rules/{rule.programme}.yml"
        assert set(rule.indicators) <= set(indicator_formulas(rule.unit))


def test_the_cafes_rule_reads_as_the_issue_says():
    cafes = get_rules("cafes")
    assert [(c.indicator, c.operator, c.threshold, c.tier) for c in cafes.eligibility][:3] == [
        ("population", "<", 3500.0, None), ("cafe_count", "=", 0.0, 1), ("cafe_count", "=", 1.0, 2),
    ]  # fmt: skip
    # in danger of losing its last café: a single one left after closures, in an ageing or a shrinking village
    dangers = {c.indicator for c in cafes.eligibility if c.tier in (2, 3, 4)} - {"cafe_count"}
    assert dangers == {"cafe_closures_3y", "share_75_plus", "population_change_rate"}
    assert [(a.indicator, a.before, a.now, a.says) for a in cafes.alerts] == [
        ("cafe_count", (">=", 1.0), ("=", 0.0), "lost its last café")
    ]
    assert [p.indicator for p in cafes.priority] == ["population", "density_level", "dist_france_services_km", "frr_class"]


def test_rule_tables_lay_out_criteria_and_weights_for_dbt(tmp_path):
    write_rule(tmp_path, GOOD)
    frr = "threshold: 3500\n  - indicator: frr_class\n    operator: in\n    threshold: [frr_plus, frr_socle]"
    write_rule(tmp_path, GOOD.replace("threshold: 3500", frr), "other")
    tables = rule_tables(load_rules(rules_dir=tmp_path))
    programmes = tables["programmes"].to_pylist()
    assert [p["programme"] for p in programmes] == ["other", "trial"]
    assert programmes[1]["rank_threshold"] == 3 and programmes[1]["regions"] == []
    criteria = [c for c in tables["criteria"].to_pylist() if c["programme"] == "other"]
    frr = next(c for c in criteria if c["indicator_id"] == "frr_class")
    assert frr["compare_to"] == "category" and frr["categories"] == ["frr_plus", "frr_socle"]
    assert frr["threshold_text"] == "[frr_plus, frr_socle]"
    population = criteria[0]
    assert (population["compare_to"], population["threshold"], population["tier"]) == ("value", 3500.0, None)
    weights = [w for w in tables["weights"].to_pylist() if w["programme"] == "trial"]
    assert [(w["indicator_id"], w["weight"], w["higher_is_priority"], w["normalise"]) for w in weights] == [
        ("population", 2.0, True, "rank"), ("frr_class", 1.0, False, "min_max"),
    ]  # fmt: skip


# ---------------------------------------------------------------- mistakes


def test_unknown_programme_lists_the_known_ones():
    known = ", ".join(sorted(PROGRAMMES))
    with pytest.raises(ProgrammeRuleError, match=f"unknown programme 'cafe'; the programmes are: {known}"):
        get_rules("cafe")


def test_wrong_indicator_id(tmp_path):
    refused(
        tmp_path,
        GOOD.replace("indicator: cafe_count", "indicator: cafes_count", 1),
        "eligibility[1]: unknown indicator id 'cafes_count'",
        "dbt_project/seeds/indicator_definitions.csv",
    )  # fmt: skip


def test_wrong_indicator_id_in_the_priority(tmp_path):
    refused(tmp_path, GOOD.replace("indicator: frr_class", "indicator: frr"), "priority[1]", "unknown indicator id 'frr'")


@pytest.mark.parametrize(
    "threshold, fragment",
    [
        ('"3500"', "threshold '3500' is a str: population is compared with a number (write 3500, not \"3500\")"),
        ("yes", "threshold True is a bool"),
        ("[1000, 3500]", "operator '<' needs one value"),
    ],
)
def test_bad_threshold_type(tmp_path, threshold, fragment):
    refused(tmp_path, GOOD.replace("threshold: 3500", f"threshold: {threshold}"), "eligibility[0] (population)", fragment)


def test_bad_operator(tmp_path):
    refused(tmp_path, GOOD.replace('operator: "<"', 'operator: "=<"'), "operator '=<' is not one of <, <=, >, >=, =, in")


def test_in_needs_a_list_and_categories_must_exist(tmp_path):
    not_a_list = GOOD.replace('operator: "<"\n    threshold: 3500', "operator: in\n    threshold: 3500")
    refused(tmp_path, not_a_list, "operator `in` needs a list")
    text = GOOD.replace("indicator: population\n    operator: \"<\"\n    threshold: 3500",
                        "indicator: frr_class\n    operator: in\n    threshold: [frr_plus, frr_plus_plus]")  # fmt: skip
    refused(tmp_path, text, "unknown frr_class categories ['frr_plus_plus']; the categories are: frr_plus, frr_socle")


def test_weights_must_be_numbers_and_directions_booleans(tmp_path):
    refused(tmp_path, GOOD.replace("weight: 2", 'weight: "2"'), "priority[0] (population): weight must be a number above 0")
    refused(tmp_path, GOOD.replace("weight: 2", "weight: 0"), "weight must be a number above 0, got 0")
    not_boolean = GOOD.replace("higher_is_priority: true", "higher_is_priority: up")
    refused(tmp_path, not_boolean, "higher_is_priority must be true or false")
    refused(tmp_path, GOOD.replace("normalise: min_max", "normalise: zscore"), "normalise must be one of rank, min_max")


def test_codes_are_quoted_strings_and_tiers_have_no_gaps(tmp_path):
    refused(tmp_path, GOOD + "filters:\n  departements: [01, '71', '7']\n",
            "code 1 must be a quoted string", "'7' is not a département code")  # fmt: skip
    refused(tmp_path, GOOD.replace("tier: 2", "tier: 3"), "tiers must be numbered 1, 2, … without gaps, got [1, 3]")


def test_filters_on_insee_levels_are_checked_like_the_others(tmp_path):
    refused(tmp_path, GOOD + "filters:\n  zones_emploi: [2710, '27100']\n  bassins_vie: ['71153; drop']\n  cantons: ['0108']\n",
            "filters.zones_emploi: code 2710 must be a quoted string",
            "'27100' is not a 4-digit zone d'emploi 2020 code", "'71153; drop' is not a bassin de vie 2022 code")  # fmt: skip
    refused(tmp_path, GOOD + "filters:\n  zone_emploi: ['2710']\n", "unknown key(s) zone_emploi")
    write_rule(tmp_path / "rules", GOOD + "filters:\n  zones_emploi: ['2710']\n  aires_attraction: ['000', '183']\n")
    rules = load_rules(rules_dir=tmp_path / "rules")["trial"]
    assert rules.filters["zones_emploi"] == ("2710",) and rules.filters["aires_attraction"] == ("000", "183")


def test_programme_id_must_be_the_file_name_and_keys_known(tmp_path):
    refused(tmp_path, GOOD.replace("programme: {programme}", "programme: other"), "'other' must be the file's name")
    refused(tmp_path, GOOD.replace("priority:", "priorities:"), "unknown key(s) priorities")
    refused(tmp_path, GOOD.replace('version: "0.1"', "version: 0.1"), "version: must be a quoted string, got 0.1")


def test_every_problem_of_a_file_is_reported_at_once(tmp_path):
    text = GOOD.replace("indicator: cafe_count", "indicator: cafe_cnt", 1).replace("weight: 2", "weight: heavy")
    message = refused(tmp_path, text, "unknown indicator id 'cafe_cnt'", "weight must be a number above 0, got 'heavy'")
    assert message.count("\n  - ") == 2


def test_a_rule_without_its_dbt_models_is_refused(tmp_path):
    write_rule(tmp_path, GOOD)
    with pytest.raises(ProgrammeRuleError, match=r"programme 'trial' has a rule file but no dbt model programmes_trial_targets"):
        check_dbt_models(load_rules(rules_dir=tmp_path))


def test_a_broken_rule_file_stops_the_build_before_anything_runs(tmp_path):
    """The definitions refuse to load, so no raw snapshot, build database or warehouse is written."""
    rules = tmp_path / "rules"
    shutil.copytree(RULES_DIR, rules)
    text = (rules / "cafes.yml").read_text(encoding="utf-8").replace("indicator: cafe_count", "indicator: cafe_counts", 1)
    (rules / "cafes.yml").write_text(text, encoding="utf-8")
    home = tmp_path / "home"
    script = f"""
import pipelines.programmes.rules as rules
from pathlib import Path
rules.RULES_DIR = Path({str(rules)!r})
from pipelines.orchestration.run_path import run_build
from pipelines.settings import DataHome
run_build(DataHome(Path({str(home)!r})).ensure(), offline=True)
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert "ProgrammeRuleError" in result.stderr
    assert "cafes.yml" in result.stderr and "unknown indicator id 'cafe_counts'" in result.stderr
    assert not (home / "work" / "warehouse.duckdb").exists()
    assert not (home / "warehouse.duckdb").exists()
    assert not any((home / "raw").iterdir())


# ---------------------------------------------------------------- lineage


def test_source_vintages_are_read_as_sources_and_vintages():
    from pipelines.programmes.lineage import parse_source_vintages

    assert parse_source_vintages("sncf_stations/insee_bpe 2024, commune_locations, etalab_decoupage 2025, 2026") == [
        (("sncf_stations", "insee_bpe"), "2024"),
        (("commune_locations",), None),
        (("etalab_decoupage",), "2025"),
        (("etalab_decoupage",), "2026"),
    ]
    assert parse_source_vintages("insee_sirene 2026-11") == [(("insee_sirene",), "2026-11")]
    assert parse_source_vintages(None) == []


def test_every_filter_of_a_rule_file_is_tested_by_the_dbt_macro():
    import re

    from pipelines.programmes.rules import FILTER_COLUMNS, FILTER_PATTERNS
    from pipelines.settings import DBT_PROJECT_DIR

    macro = (DBT_PROJECT_DIR / "macros" / "programmes" / "programme_targets.sql").read_text(encoding="utf-8")
    listed = dict(re.findall(r"\('([a-z_]+)', '([a-z_]+_code)'\)", macro.split("macro programme_filter_columns")[1]))
    assert listed == FILTER_COLUMNS and set(FILTER_COLUMNS) == set(FILTER_PATTERNS)
