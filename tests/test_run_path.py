"""The one run path on the sample: schedule ticks and sensor requests run as Dagster runs of the
instance, with the same no-op, publish and status as a command-line build."""

from __future__ import annotations

import json
import os
import shutil
import time

import dagster as dg
import duckdb
import polars as pl
import pytest

from pipelines.cli.status import render_status
from pipelines.orchestration.run_path import BuildRequest, execute, plan_build, run_build, run_tick
from pipelines.orchestration.schedules import sources_by_cadence
from pipelines.programmes.rules import RULES_DIR, load_rules
from pipelines.sample.insee_sirene import FILE_NAME as STOCK, write_parquet
from pipelines.sources.snapshots import RawStore

pytestmark = pytest.mark.integration


@pytest.fixture
def environment(sample_build_copy, mirror, monkeypatch):
    """What the daemon's environment would say: the data home and the mirror."""
    monkeypatch.setenv("TERRITOIRES_HOME", str(sample_build_copy.root))
    monkeypatch.setenv("TERRITOIRES_MIRROR", str(mirror))
    monkeypatch.delenv("TERRITOIRES_RULES_DIR", raising=False)
    return sample_build_copy, mirror


def read(path, sql, params=None) -> pl.DataFrame:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql, params or []).pl()


def eligible_cafes(warehouse) -> dict[str, int]:
    frame = read(
        warehouse,
        "select t.commune_code, c.population from programmes.cafes_targets as t "
        "join geo.commune as c using (commune_code) where t.eligible",
    )
    return dict(zip(frame["commune_code"], frame["population"]))


def next_week(mirror) -> None:
    """A new GTFS week in the mirror: the same feeds, published again for 2026-W49."""
    shutil.copytree(mirror / "transport_gtfs" / "2026-W48", mirror / "transport_gtfs" / "2026-W49")


def test_a_schedule_tick_publishes_and_a_sensor_request_with_nothing_new_skips_dbt_and_publish(
    environment, tmp_path, monkeypatch
):
    home, mirror = environment
    before_build = read(home.warehouse, "select build_id from meta.about")["build_id"][0]
    before = eligible_cafes(home.warehouse)
    assert any(p >= 1000 for p in before.values())
    # an edited rule file (villages under 1,000 inhabitants only) ...
    rules = tmp_path / "rules"
    shutil.copytree(RULES_DIR, rules)
    text = (rules / "cafes.yml").read_text(encoding="utf-8")
    version = load_rules()["cafes"].version
    text = text.replace("threshold: 3500", "threshold: 1000", 1).replace(f'version: "{version}"', 'version: "edited"', 1)
    (rules / "cafes.yml").write_text(text, encoding="utf-8")
    monkeypatch.setenv("TERRITOIRES_RULES_DIR", str(rules))
    # ... a broken source upstream, and a real change in another one
    communes = mirror / "etalab_decoupage" / "2026" / "communes.json"
    records = json.loads(communes.read_text(encoding="utf-8"))
    communes.write_text(json.dumps([{k: v for k, v in r.items() if k != "zone"} for r in records]), encoding="utf-8")
    cog = mirror / "insee_cog" / "2026" / "v_commune_2026.csv"
    cog.write_text(cog.read_text(encoding="utf-8") + "\n", encoding="utf-8")

    tick = run_tick(home, schedule="refresh_yearly_sources")

    # the broken source keeps its last good data and is reported; the rest builds and publishes
    assert tick.outcome == "published", (tick.failed_steps, tick.failed_checks)
    assert set(tick.source_statuses) == set(sources_by_cadence()["yearly"]) and "anct_zrr" not in tick.source_statuses
    assert tick.source_statuses["etalab_decoupage"]["2026"] == "invalid"
    assert tick.source_statuses["insee_cog"]["2026"] == "loaded"
    assert any("raw_files_valid" in c and "column zone is missing" in c for c in tick.failed_checks)
    assert tick.runs[-1].description == "transform: programme inputs, dbt, publish, exports, docs"
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        assert con.execute("select count(*) from geo.commune where zone is null").fetchone()[0] == 0
        assert con.execute("select count(*) from geo.commune").fetchone()[0] == 266
    # the edited rule applies: exactly the eligible villages of 1,000 inhabitants or more left the list
    after = eligible_cafes(home.warehouse)
    assert set(after) == {code for code, population in before.items() if population < 1000}
    changes = read(home.warehouse, "select * from programmes.cafes_changes")
    left = set(changes.filter(pl.col("change") == "left")["commune_code"])
    assert left == set(before) - set(after) and left
    assert set(changes["previous_build_id"]) == {before_build}  # compared with the published list
    assert set(changes["rule_version"]) == {"edited"} and set(changes["previous_rule_version"]) == {version}

    # the sensor: a file re-published upstream with the same bytes
    published = home.warehouse.stat()
    latest_export = (home.exports / "latest").resolve()
    frr = next((mirror / "anct_frr" / "2025").iterdir())
    os.utime(frr, (time.time() + 60, time.time() + 60))
    started = time.monotonic()
    sensed = run_tick(home, sensor="upstream_changes")
    seconds = time.monotonic() - started

    assert sensed.outcome == "up_to_date" and sensed.success
    assert [r.description for r in sensed.runs] == [
        "ingest anct_frr 2025", "transform: programme inputs, dbt, publish, exports, docs",
    ]  # fmt: skip
    assert sensed.source_statuses == {"anct_frr": {"2025": "unchanged"}}
    now = home.warehouse.stat()
    assert (now.st_ino, now.st_mtime_ns) == (published.st_ino, published.st_mtime_ns)  # untouched
    assert (home.exports / "latest").resolve() == latest_export
    print(f"\nno-op sensor run on the sample: {seconds:.1f} s")

    status = render_status(home)
    assert "schedule refresh_yearly_sources" in status and "sensor upstream_changes" in status
    lines = [line for line in status.splitlines() if "upstream_changes" in line or "refresh_yearly" in line]
    assert any("published" in line for line in lines) and any("up_to_date" in line for line in lines)
    with dg.DagsterInstance.from_config(str(home.dagster_home)) as instance:
        runs = instance.get_runs()
    assert {r.tags.get("dagster/schedule_name") for r in runs} >= {"refresh_yearly_sources"}
    assert {r.tags.get("dagster/sensor_name") for r in runs} >= {"upstream_changes"}


def test_a_new_sirene_month_and_gtfs_week_found_by_the_sensor_become_partitions_and_load(environment):
    home, mirror = environment
    stock = pl.read_parquet(mirror / "insee_sirene" / "2026-11" / STOCK)
    december = mirror / "insee_sirene" / "2026-12"
    december.mkdir()
    # the December stock: what INSEE processed up to the end of November
    processed = "dateDernierTraitementEtablissement"
    write_parquet(stock.with_columns(pl.col(processed).dt.offset_by("1mo")), december / STOCK)
    next_week(mirror)

    from pipelines.orchestration.definitions import defs
    from pipelines.orchestration.instance import prepare_dagster_home

    prepare_dagster_home(home)
    with dg.DagsterInstance.get() as instance:
        sensor = defs.resolve_sensor_def("upstream_changes")
        resources = {key: defs.resources[key] for key in sensor.required_resource_keys}
        tick = sensor.evaluate_tick(dg.build_sensor_context(instance=instance, definitions=defs, resources=resources))
        assert "2026-12" in instance.get_dynamic_partitions("insee_sirene_vintages")
        assert "2026-W49" in instance.get_dynamic_partitions("transport_gtfs_vintages")
    requests = tick.run_requests
    ingest = [r for r in requests if any(k.path[0] == "raw" for k in r.asset_selection)]
    assert sorted(k.path[1] for r in ingest for k in r.asset_selection) == ["insee_sirene", "transport_gtfs"]
    assert len(requests) == len(ingest) + 1  # and the transformation, last

    result = execute(ingest, home=home)

    assert result.source_statuses == {"insee_sirene": {"2026-12": "loaded"}, "transport_gtfs": {"2026-W49": "loaded"}}
    with duckdb.connect(str(home.work_db), read_only=True) as con:
        months = {r[0] for r in con.execute("select distinct _vintage from raw.insee_sirene__establishments").fetchall()}
        weeks = {r[0] for r in con.execute("select distinct _vintage from raw.transport_gtfs__feeds").fetchall()}
    assert months == {"2026-11", "2026-12"} and weeks == {"2026-W48", "2026-W49"}
    found = RawStore(home.root).vintage_files("insee_sirene", "2026-12")
    assert [f["name"] for f in found] == [STOCK]


def test_a_failed_fetch_shows_as_failing_and_the_build_goes_on(sample_build_copy, mirror):
    (mirror / "anct_frr" / "2025" / "liste-communes-FRR-juillet2025.csv").unlink()
    result = run_build(sample_build_copy, sources=["anct_frr"], mirror=str(mirror))
    assert result.success and result.outcome == "up_to_date"
    [warning] = [w for w in result.warnings if "latest_fetch_succeeded" in w]
    served = RawStore(sample_build_copy.root).snapshots("anct_frr", "2025")[0].fetched_at[:10]
    assert "raw/anct_frr · latest_fetch_succeeded: 2025: fetch failed" in warning
    assert "the mirror has no file" in warning and f"serving the snapshot of {served}" in warning


def test_an_offline_build_starts_runs_only_for_the_sources_with_something_to_load(sample_build_copy, mirror, tmp_path):
    from click.testing import CliRunner

    from pipelines.cli.commands import main

    home = sample_build_copy
    nothing = run_build(home, offline=True)
    assert nothing.success and nothing.up_to_date
    assert [run.description.split(":")[0] for run in nothing.runs] == ["transform"]  # no ingestion run at all
    assert nothing.source_statuses["anct_frr"] == {"2025": "unchanged"}
    assert nothing.source_statuses["insee_appartenance"] == {"2021": "missing", "2022": "missing", "2023": "missing",
                                                             "2024": "missing", "2025": "unchanged", "2026": "unchanged"}  # fmt: skip

    # a file given by hand: that source's vintage is loaded, in a run of its own, and only it
    frr = mirror / "anct_frr" / "2025" / "liste-communes-FRR-juillet2025.csv"
    changed = tmp_path / frr.name
    changed.write_bytes(frr.read_bytes().replace(b"\n", b"\r\n"))  # same rows, other bytes
    given = CliRunner().invoke(main, ["ingest", "anct_frr", "--vintage", "2025", "--file", str(changed)],
                               env={"TERRITOIRES_HOME": str(home.root)})  # fmt: skip
    assert given.exit_code == 0, given.output
    # (the ingestion runs alone: what the transformation does after them is tested elsewhere)
    with dg.DagsterInstance.get() as instance:
        plan = plan_build(BuildRequest(offline=True, transform=False, home=str(home.root)), instance=instance, home=home)
    one = execute(plan.run_requests(), home=home, descriptions=[r.describe() for r in plan.runs])
    assert one.success
    assert [run.description for run in one.runs] == ["ingest anct_frr 2025"]
    assert one.source_statuses["anct_frr"] == {"2025": "loaded"} and one.source_statuses["insee_bpe"]["2024"] == "unchanged"
