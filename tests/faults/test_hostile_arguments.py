"""Hostile command-line arguments and programme rule files: clean refusals, nothing written.

Unknown ids, ids carrying SQL or path fragments, huge numbers, wrong types, empty and
odd characters: each command must stop with a short error naming the bad value (exit
status not 0, no traceback) and leave every file of the temporary folder as it was, the
data home included; nothing may appear outside it. Rule files with wrong types, missing
keys, unknown ids, non-finite numbers, YAML that is not a mapping or an alias bomb are
refused by the checker quickly, with bounded messages. No dbt run, no Dagster build.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from test_query_access import assert_one_line_error, files_under, published_home

from pipelines.cli import main
from pipelines.programmes.rules import RULES_DIR, ProgrammeRuleError, load_rules

SQL_ID = "x'; drop table meta.about; --"
HOSTILE_IDS = ["nope", SQL_ID, "../../etc/passwd", "/etc/passwd", "a/b", "", "é\x00\u202e", "%s%n{0}"]
HOSTILE_VINTAGES = ["99999999999", "../../x", "/abs", "a/b", "", "2026; rm -rf /", "-1"]


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A published data home in tmp_path/home; commands run from tmp_path/cwd (relative paths land in tmp_path)."""
    home = published_home(tmp_path / "home", rows=2_000)
    (tmp_path / "cwd").mkdir()
    monkeypatch.setenv("TERRITOIRES_HOME", str(home.root))
    monkeypatch.delenv("TERRITOIRES_RULES_DIR", raising=False)
    monkeypatch.delenv("TERRITOIRES_MIRROR", raising=False)
    monkeypatch.chdir(tmp_path / "cwd")
    return home


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def refused_cleanly(tmp_path: Path, args: list[str], *expected: str) -> str:
    """Run the command; it fails with one line naming the problem and changes no file under tmp_path."""
    before = files_under(tmp_path)
    message = assert_one_line_error(run(*args), *expected)
    assert files_under(tmp_path) == before
    return message


def usage_error(tmp_path: Path, args: list[str], option: str) -> None:
    """Click refuses the value itself (exit status 2) and nothing is written."""
    before = files_under(tmp_path)
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert f"Invalid value for '{option}'" in result.stderr and "Traceback" not in result.output
    assert files_under(tmp_path) == before


# ------------------------------------------------------------------------- sources, build, ingest


@pytest.mark.parametrize("bad", HOSTILE_IDS)
def test_sources_refuses_unknown_ids(home, tmp_path, bad):
    refused_cleanly(tmp_path, ["sources", "--source", bad], f"unknown source '{bad}'", "known sources: anct_centres, anct_france_services")


@pytest.mark.parametrize("bad", HOSTILE_IDS)
def test_build_refuses_unknown_sources_before_touching_the_data_home(home, tmp_path, bad):
    refused_cleanly(tmp_path, ["build", "--source", bad, "--offline", "--no-wait"], f"unknown source '{bad}'")
    assert not (home.dagster_home / "dagster.yaml").exists()


@pytest.mark.parametrize("source", ["insee_cog", "transport_gtfs", "insee_sirene"])
@pytest.mark.parametrize("bad", HOSTILE_VINTAGES)
def test_build_refuses_vintages_a_source_cannot_have(home, tmp_path, source, bad):
    refused_cleanly(tmp_path, ["build", "--source", source, "--vintage", bad, "--offline", "--no-wait"], source, bad)


@pytest.mark.parametrize("bad", HOSTILE_IDS)
def test_ingest_refuses_unknown_sources(home, tmp_path, bad):
    (tmp_path / "cwd" / "file.csv").write_text("a,b\n1,2\n")
    refused_cleanly(tmp_path, ["ingest", bad, "--vintage", "2024", "--file", "file.csv"], f"unknown source '{bad}'")


@pytest.mark.parametrize("source", ["insee_cog", "transport_gtfs", "insee_sirene"])
@pytest.mark.parametrize("bad", HOSTILE_VINTAGES + ["2026-W99", "2026-13", "2026-W48/../../..", "２０２６"])
def test_ingest_refuses_bad_vintages_and_stores_nothing(home, tmp_path, source, bad):
    (tmp_path / "cwd" / "file.csv").write_text("a,b\n1,2\n")
    refused_cleanly(tmp_path, ["ingest", source, "--vintage", bad, "--file", "file.csv"], source)
    assert not any(home.raw.iterdir())


def test_ingest_on_a_fresh_data_home_creates_nothing_for_a_bad_source(tmp_path, monkeypatch):
    """The unknown id is said before the data home's folders are made."""
    monkeypatch.setenv("TERRITOIRES_HOME", str(tmp_path / "fresh"))
    assert_one_line_error(run("ingest", SQL_ID, "--vintage", "2024", "--file", "/etc/hostname"), "unknown source")
    assert not (tmp_path / "fresh").exists()


@pytest.mark.parametrize("given", ["missing.csv", "../../../../../../nothing/there.csv", ".", "/"])
def test_ingest_of_a_path_that_is_not_a_file_stores_nothing(home, tmp_path, given):
    before = files_under(tmp_path)
    result = run("ingest", "insee_cog", "--vintage", "2024", "--file", given)
    assert isinstance(result.exception, SystemExit) and result.exit_code == 1, result.output
    assert "no file at this path" in result.stderr and "Traceback" not in result.output
    assert not any(home.raw.iterdir())
    assert set(files_under(tmp_path)) - set(before) <= {"home/territoires.lock"}


@pytest.mark.parametrize("bad", ["2026-W48\n", "２０２６-W４８"])
def test_ingest_refuses_vintages_with_newlines_or_unicode_digits(home, tmp_path, bad):
    (tmp_path / "cwd" / "feed.zip").write_bytes(b"not a zip")
    result = run("ingest", "transport_gtfs", "--vintage", bad, "--file", "feed.zip")
    assert "vintages are written like" in result.stderr
    assert not any(home.raw.iterdir())


# ------------------------------------------------------------------------------------ target


@pytest.mark.parametrize("bad", [b for b in HOSTILE_IDS if b])
def test_target_refuses_unknown_programmes(home, tmp_path, bad):
    refused_cleanly(tmp_path, ["target", bad], "unknown programme", "the programmes are: cafes")


def test_target_without_a_programme_says_how(home, tmp_path):
    refused_cleanly(tmp_path, ["target", ""], "name a programme")


@pytest.mark.parametrize("option", ["--departement", "--region"])
@pytest.mark.parametrize("bad", HOSTILE_IDS + ["71 or 1=1", "%"])
def test_target_area_codes_are_looked_up_not_pasted(home, tmp_path, option, bad):
    level = option.removeprefix("--")
    refused_cleanly(tmp_path, ["target", "cafes", option, bad], f"no {level}", f"in geo.{level}")


@pytest.mark.parametrize("bad", [SQL_ID, "../../etc/passwd", "99999", "", "2A004' or '1'='1"])
def test_target_explain_refuses_unknown_communes(home, tmp_path, bad):
    refused_cleanly(tmp_path, ["target", "cafes", "--explain", bad], "is not one of the commune units of programmes.\"cafes_targets\"")


@pytest.mark.parametrize("bad", ["99999999999999999999", "1000001", "abc", "-1", "1e3", "", "0x10"])
def test_target_top_must_be_a_sensible_count(home, tmp_path, bad):
    usage_error(tmp_path, ["target", "cafes", "--top", bad], "--top")


def test_target_still_answers(home):
    result = run("target", "cafes", "--departement", "71", "--top", "2", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert len(result.stdout.strip().splitlines()) == 3


# ------------------------------------------------------------------------------------ export


@pytest.mark.parametrize("bad", [b for b in HOSTILE_IDS if b.strip(",")])
def test_export_refuses_unknown_indicators(home, tmp_path, bad):
    refused_cleanly(tmp_path, ["export", "--indicator", bad, "--format", "csv"], "unknown indicator")


@pytest.mark.parametrize("bad", [b for b in HOSTILE_IDS if b.strip(",")])
def test_export_refuses_unknown_programmes(home, tmp_path, bad):
    refused_cleanly(tmp_path, ["export", "--programme", bad, "--format", "csv"], "unknown programme", "cafes")


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--level", "nope"], "--level"),
        (["--level", SQL_ID], "--level"),
        (["--format", "exe"], "--format"),
        (["--csv-separator", "|"], "--csv-separator"),
    ],
)
def test_export_option_values_are_checked(home, tmp_path, args, option):
    usage_error(tmp_path, ["export", *args], option)


def test_export_decimal_comma_needs_semicolons(home, tmp_path):
    refused_cleanly(tmp_path, ["export", "--format", "csv", "--csv-decimal-comma"], "a decimal comma needs the ';' separator")


def test_a_refused_export_leaves_no_folder_at_out(home, tmp_path):
    refused_cleanly(tmp_path, ["export", "--indicator", "nope", "--format", "csv", "--out", str(tmp_path / "elsewhere" / "deep")])


# -------------------------------------------------------------------------------- rule files

CAFES = (RULES_DIR / "cafes.yml").read_text(encoding="utf-8")
BOMB = "".join(
    f"{name}: &{name} [{', '.join([f'*{previous}'] * 9) if previous else ', '.join(['x'] * 9)}]\n"
    for previous, name in zip([None, *"abcdefg"], "abcdefgh")
)  # nine to the eighth (43 million) strings once expanded


def cafes_with(old: str, new: str) -> str:
    assert old in CAFES, old
    return CAFES.replace(old, new, 1)


RULE_FILES = [
    ("threshold as a string", cafes_with("threshold: 3500", 'threshold: "3500"'), "threshold '3500' is a str"),
    ("threshold as a list", cafes_with("threshold: 3500", "threshold: [1, 2]"), "operator '<' needs one value"),
    ("threshold as a mapping", cafes_with("threshold: 3500", "threshold: {a: 1}"), "needs one value"),
    ("threshold NaN", cafes_with("threshold: 3500", "threshold: .nan"), "threshold nan is not a finite number"),
    ("threshold infinite", cafes_with("threshold: 3500", "threshold: .inf"), "threshold inf is not a finite number"),
    ("threshold of 400 digits", cafes_with("threshold: 3500", "threshold: " + "9" * 400), "is not a finite number"),
    ("threshold of a megabyte", cafes_with("threshold: 3500", "threshold: " + "x" * 1_000_000), "is a str"),
    ("weight NaN", cafes_with("weight: 2", "weight: .nan"), "weight must be a number above 0, got nan"),
    ("weight infinite", cafes_with("weight: 2", "weight: .inf"), "weight must be a number above 0, got inf"),
    ("weight as text", cafes_with("weight: 2", "weight: heavy"), "weight must be a number above 0, got 'heavy'"),
    ("huge rank threshold", cafes_with("rank_threshold: 10", "rank_threshold: 99999999999999999999"), "0 to 2147483647"),
    ("negative rank threshold", cafes_with("rank_threshold: 10", "rank_threshold: -1"), "whole number of ranks"),
    ("tier as text", cafes_with("tier: 1", 'tier: "1"'), "tier must be a whole number from 1, got '1'"),
    ("huge tier", cafes_with("tier: 2", "tier: 99999999999999999999"), "tiers must be numbered 1, 2"),
    ("no programme key", cafes_with("programme: cafes\n", ""), "programme: missing"),
    ("no eligibility", cafes_with("eligibility:", "eligibility_:"), "eligibility: must be a non-empty list"),
    ("SQL as an indicator", cafes_with("indicator: population", f'indicator: "{SQL_ID}"'), "unknown indicator id \"x'; drop"),
    ("path as an indicator", cafes_with("indicator: population", "indicator: ../../etc/passwd"), "unknown indicator id '../../etc/passwd'"),
    ("unknown criterion key", cafes_with("    threshold: 3500", "    threshold: 3500\n    sql: drop table x"), "unknown key(s) sql"),
    ("numbers as keys", "1: one\n2.5: two\nnull: three\n" + CAFES, "unknown key(s) 1, 2.5, None"),
    ("SQL as an operator", cafes_with('operator: "<"', 'operator: "; drop table x"'), "operator '; drop table x' is not one of"),
    ("SQL as the programme", cafes_with("programme: cafes", f'programme: "{SQL_ID}"'), "must be the file's name"),
    ("newline in a code", cafes_with("departements: []", 'departements: ["71\\n"]'), "'71\\n' is not a département code"),
    ("code as a number", cafes_with("departements: []", "departements: [71]"), "code 71 must be a quoted string"),
    ("unknown category", cafes_with("indicator: population\n    operator: \"<\"\n    threshold: 3500",
                                    f"indicator: frr_class\n    operator: in\n    threshold: [frr_plus, \"{SQL_ID}\"]"),
     "unknown frr_class categories"),  # fmt: skip
    ("a list, not a mapping", "- programme: cafes\n- title: x\n", "must be a YAML mapping"),
    ("a scalar", "42\n", "must be a YAML mapping"),
    ("an empty file", "", "must be a YAML mapping"),
    ("broken YAML", "programme: [cafes\n", "not valid YAML"),
    ("a Python tag", "!!python/object/apply:os.system ['touch pwned']\n", "not valid YAML"),
    ("an alias bomb as the title", BOMB + cafes_with("title: Réouverture", "title: *h\nx_title: Réouverture"), "title: must be a quoted string"),
    ("an alias bomb as a threshold", BOMB + cafes_with("threshold: 3500", "threshold: *h"), "needs one value"),
    ("an alias bomb as the filters", BOMB + cafes_with("departements: []", "departements: *h"), "filters.departements"),
]


@pytest.mark.parametrize(("case", "text", "expected"), RULE_FILES, ids=[case for case, _, _ in RULE_FILES])
def test_hostile_rule_files_are_refused_quickly_with_short_messages(tmp_path, monkeypatch, case, text, expected):
    monkeypatch.chdir(tmp_path)
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "cafes.yml").write_text(text, encoding="utf-8")
    before = files_under(tmp_path)
    started = time.monotonic()
    with pytest.raises(ProgrammeRuleError) as error:
        load_rules(rules_dir=rules)
    assert time.monotonic() - started < 5
    message = str(error.value)
    assert expected in message, message
    assert "cafes.yml" in message and "nothing was built" in message
    assert len(message) < 5_000  # no 43-million-item list, no megabyte string
    assert files_under(tmp_path) == before


def test_rule_files_that_cannot_be_read(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "cafes.yml").write_bytes(b"programme: caf\xe9s\n")  # latin-1, not UTF-8
    (rules / "folder.yml").mkdir()  # a folder is not a rule file
    with pytest.raises(ProgrammeRuleError, match="cannot be read as UTF-8 text") as error:
        load_rules(rules_dir=rules)
    assert "folder.yml" not in str(error.value)


def test_a_programme_file_named_with_sql_is_refused(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    name = "cafes'; drop table x; --"
    (rules / f"{name}.yml").write_text(cafes_with("programme: cafes", f'programme: "{name}"'), encoding="utf-8")
    with pytest.raises(ProgrammeRuleError, match="must be lower case letters, digits and _"):
        load_rules(rules_dir=rules)


@pytest.mark.parametrize(
    ("case", "text", "expected"), [RULE_FILES[3], RULE_FILES[-3]], ids=[RULE_FILES[3][0], RULE_FILES[-3][0]]
)
def test_target_list_with_a_hostile_rules_folder_fails_cleanly(home, tmp_path, monkeypatch, case, text, expected):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "cafes.yml").write_text(text, encoding="utf-8")
    monkeypatch.setenv("TERRITOIRES_RULES_DIR", str(rules))
    before = files_under(tmp_path)
    result = run("target", "--list")
    assert isinstance(result.exception, SystemExit) and result.exit_code == 1, result.output
    assert "Traceback" not in result.output and result.stdout == ""
    assert expected in result.stderr and "nothing was built" in result.stderr
    assert files_under(tmp_path) == before
