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
    assert table.exit_code == 0 and "266" in table.output
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


def test_ingest_takes_any_week_of_a_weekly_source_and_makes_it_a_partition(real_data, data_home, tmp_path):
    import dagster as dg

    feed = tmp_path / "frioul-if-express.zip"
    feed.write_bytes((real_data / "gtfs" / "frioul-if-express" / "gtfs.zip").read_bytes())
    result = CliRunner().invoke(main, ["ingest", "transport_gtfs", "--vintage", "2017-W02", "--file", str(feed)])
    assert result.exit_code == 0, result.output
    assert "transport_gtfs 2017-W02 now reads: frioul-if-express.zip" in result.output
    assert "transport_gtfs 2017-W02 is valid" in result.output
    with dg.DagsterInstance.from_config(str(data_home.dagster_home)) as instance:
        assert instance.get_dynamic_partitions("transport_gtfs_vintages") == ["2017-W02"]
    wrong = CliRunner().invoke(main, ["ingest", "transport_gtfs", "--vintage", "2017-01-10", "--file", str(feed)])
    assert wrong.exit_code == 1 and "written like 2026-W48" in wrong.output


def test_build_names_the_schedules_and_sensors_it_knows(data_home):
    result = CliRunner().invoke(main, ["build", "--schedule", "sunday"])
    assert result.exit_code == 1
    assert "no schedule named 'sunday'; there are: refresh_monthly_sources, refresh_weekly_sources, refresh_yearly_sources" in result.output
