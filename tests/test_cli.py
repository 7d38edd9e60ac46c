"""The `territoires` command on a built sample warehouse."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

from pipelines.cli import main

pytestmark = pytest.mark.integration


@pytest.fixture
def run(sample_build, monkeypatch):
    home, _ = sample_build
    monkeypatch.setenv("TERRITOIRES_HOME", str(home.root))

    def invoke(*args):
        return CliRunner().invoke(main, list(args), catch_exceptions=False)

    return invoke


@pytest.mark.parametrize("command", ["demo", "build", "ingest", "sources", "status", "query", "ui"])
def test_every_command_has_help(command):
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output


def test_query_answers_in_table_csv_and_json(run):
    table = run("query", "select count(*) as communes from geo.commune")
    assert table.exit_code == 0 and "236" in table.output
    rows = list(csv.DictReader(io.StringIO(run("query", "select code, value from indicators.long where level = 'france' order by 1, 2", "--format", "csv").output)))
    assert {r["code"] for r in rows} == {"FR"}
    records = json.loads(
        run("query", "select indicator_id, unit from indicators.catalogue where indicator_id like 'pop%' order by 1", "--format", "json").output
    )
    assert records == [
        {"indicator_id": "population", "unit": "habitants"},
        {"indicator_id": "population_change_rate", "unit": "% par an"},
    ]


@pytest.mark.parametrize(
    "sql",
    [
        "copy geo.commune to '/tmp/territoires-leak.csv'",
        "attach '/tmp/territoires-other.duckdb' as other",
        "install spatial",
        "select * from read_csv('/etc/passwd')",
        "create table geo.mine as select 1",
        "set enable_external_access = true",
    ],
)
def test_query_is_read_only(run, sql):
    result = run("query", sql)
    assert result.exit_code == 1
    assert "error:" in result.output or "error:" in (result.stderr or "")


def test_sources_lists_every_source_with_its_snapshots(run):
    result = run("sources")
    assert result.exit_code == 0
    assert "etalab_decoupage" in result.output and "insee_cog" in result.output
    assert "2026  communes.json" in result.output and "valid" in result.output
    assert "2023  no snapshot" in result.output


def test_status_reports_the_published_build(run):
    result = run("status")
    assert result.exit_code == 0
    assert "(SAMPLE DATA)" in result.output and "published" in result.output
    assert "etalab_decoupage       2025, 2026" in result.output


def test_ingest_refuses_an_html_page(tmp_path, data_home):
    page = tmp_path / "v_commune_2026.csv"
    page.write_text("<html><body>Maintenance</body></html>", encoding="utf-8")
    result = CliRunner().invoke(main, ["ingest", "insee_cog", "--vintage", "2026", "--file", str(page)])
    assert result.exit_code == 1
    assert "HTML" in result.output
    assert not list((data_home.raw / "insee_cog").rglob("v_commune_2026.csv"))


def test_ingest_unknown_source_or_vintage(tmp_path, data_home):
    result = CliRunner().invoke(main, ["ingest", "nope", "--vintage", "2026", "--file", str(tmp_path)])
    assert result.exit_code == 1 and "known sources: " in result.output
    result = CliRunner().invoke(main, ["ingest", "insee_cog", "--vintage", "1999", "--file", str(tmp_path)])
    assert result.exit_code == 1 and "no vintage 1999" in result.output


def test_ingest_of_the_sample_files_then_offline_build(sample_files, data_home):
    folder, _ = sample_files
    (data_home.root / "SAMPLE_DATA").write_text("sample")
    files = [str(folder / "etalab_decoupage/2026" / name) for name in ("communes.json", "epci.json", "departements.json", "regions.json")]
    # one file alone is stored but cannot be checked without the others
    result = CliRunner().invoke(main, ["ingest", "etalab_decoupage", "--vintage", "2026", "--file", files[0]])
    assert result.exit_code == 0 and "not checked yet: etalab_decoupage 2026: no epci.json" in result.output
    args = ["ingest", "etalab_decoupage", "--vintage", "2026"]
    for path in files[1:]:
        args += ["--file", path]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "etalab_decoupage 2026 is valid" in result.output
    result = CliRunner().invoke(main, ["build", "--offline", "--source", "etalab_decoupage", "--vintage", "2026"])
    assert result.exit_code == 0, result.output
    assert "etalab_decoupage       2026 loaded" in result.output
    answer = CliRunner().invoke(main, ["query", "select count(*) as n from geo.commune", "--format", "csv"])
    assert answer.output.splitlines() == ["n", "236"]
