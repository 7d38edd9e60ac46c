"""A snapshot of the Dagster definitions: a changed asset graph shows up in review."""

from __future__ import annotations

import dagster as dg

from pipelines.orchestration.definitions import defs
from pipelines.sources.catalogue import load_catalogue

# The Python assets (one raw asset per catalogue source) and the published warehouse;
# dbt models are checked by family below.
RAW_ASSETS = {f"raw/{source_id}" for source_id in load_catalogue()}
MART_ASSETS = {
    "geo/commune", "geo/commune_passage", "geo/departement", "geo/epci", "geo/region",
    "geo/arrondissement", "geo/canton", "geo/zone_emploi", "geo/unite_urbaine", "geo/aire_attraction", "geo/bassin_vie", "geo/shapes",
    "indicators/catalogue", "indicators/categories", "indicators/commune", "indicators/long",
    "indicators/published_comparison",
}  # fmt: skip


def test_asset_graph_is_the_expected_one():
    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {k for k in keys if k.startswith("raw/")} == RAW_ASSETS
    assert {k for k in keys if k.split("/")[0] in ("geo", "indicators")} == MART_ASSETS
    assert "warehouse/published" in keys
    assert {"exports/latest", "atlas/latest", "warehouse/docs"} <= keys
    staging = {k.split("/")[1] for k in keys if k.startswith("staging/")}
    # every source has staging models named stg_<source>__<entity>
    assert {name.split("__")[0].removeprefix("stg_") for name in staging} == set(load_catalogue())


def test_dbt_sources_hang_off_the_raw_assets():
    graph = defs.resolve_asset_graph()
    parents = graph.get(dg.AssetKey(["staging", "stg_etalab_decoupage__communes"])).parent_keys
    assert parents == {dg.AssetKey(["raw", "etalab_decoupage"])}
    published = graph.get(dg.AssetKey(["warehouse", "published"])).parent_keys
    assert dg.AssetKey(["indicators", "long"]) in published
    # the atlas is drawn from the published warehouse, like the exports
    assert graph.get(dg.AssetKey(["atlas", "latest"])).parent_keys == {dg.AssetKey(["warehouse", "published"])}


def test_every_raw_asset_has_its_validation_check_and_dbt_tests_are_checks():
    checks = {(key.asset_key.to_user_string(), key.name) for key in defs.resolve_asset_graph().asset_check_keys}
    assert ("raw/etalab_decoupage", "raw_files_valid") in checks
    assert ("raw/insee_cog", "raw_files_valid") in checks
    assert any(asset == "geo/commune" and name.startswith("unique_geo_commune") for asset, name in checks)


def test_raw_assets_are_partitioned_by_vintage():
    graph = defs.resolve_asset_graph()
    apl = graph.get(dg.AssetKey(["raw", "drees_apl"])).partitions_def
    assert isinstance(apl, dg.StaticPartitionsDefinition)
    assert apl.get_partition_keys() == load_catalogue()["drees_apl"].vintage_ids
    for source_id in ("transport_gtfs", "insee_sirene"):  # weeks and months are found, not listed
        partitions = graph.get(dg.AssetKey(["raw", source_id])).partitions_def
        assert isinstance(partitions, dg.DynamicPartitionsDefinition) and partitions.name == f"{source_id}_vintages"


def test_programme_models_hang_off_the_rule_files_and_the_published_lists():
    graph = defs.resolve_asset_graph()
    assert graph.get(dg.AssetKey(["programmes", "rules"])).parent_keys == {dg.AssetKey(["programmes", "rule_files"])}
    previous = graph.get(dg.AssetKey(["programmes", "targets_previous"])).parent_keys
    assert previous == {dg.AssetKey(["programmes", "published_targets"])}
    # so whatever rebuilds the programmes reads the edited rule files
    downstream = dg.AssetSelection.assets(dg.AssetKey(["programmes", "rule_files"])).downstream().resolve(graph)
    assert dg.AssetKey(["programmes", "cafes_targets"]) in downstream


def test_schedules_and_the_sensor_run_the_asset_job_in_process():
    assert {s.name for s in defs.schedules} == {"refresh_yearly_sources", "refresh_monthly_sources", "refresh_weekly_sources"}
    assert {s.job_name for s in defs.schedules} == {"__ASSET_JOB"}
    assert defs.resolve_sensor_def("upstream_changes").job_name == "__ASSET_JOB"
    assert defs.resolve_job_def("transform_and_publish").executor_def.name == "in_process"


def test_the_dbt_resource_runs_no_version_probe_and_opens_no_adapter(monkeypatch):
    """The two start-up costs DbtResource removes are dagster-dbt's own methods: an upgrade that renames them fails here."""
    from importlib.metadata import version

    import dagster_dbt.core.resource as dbt_resource
    from dagster_dbt import DbtCliResource

    from pipelines.orchestration.resources import DbtResource, default_resources

    assert {"_cli_version", "_initialize_dbt_core_adapter"} <= set(vars(DbtCliResource))
    resource = default_resources()["dbt"]
    assert isinstance(resource, DbtResource)

    def no_subprocess(*args, **kwargs):
        raise AssertionError(f"dbt started a subprocess: {args}")

    monkeypatch.setattr(dbt_resource, "check_output", no_subprocess)
    assert str(resource._cli_version) == version("dbt-core")
    assert resource._initialize_dbt_core_adapter(["build"]) is None


def test_a_fresh_dbt_target_keeps_only_the_parse_cache(tmp_path):
    from assets.warehouse import PARTIAL_PARSE, fresh_target

    target = tmp_path / "dbt_target"
    (target / "compiled" / "territoires").mkdir(parents=True)
    (target / "run_results.json").write_text("{}")
    (target / PARTIAL_PARSE).write_bytes(b"cache")
    assert fresh_target(target) == target
    assert [p.name for p in target.iterdir()] == [PARTIAL_PARSE] and (target / PARTIAL_PARSE).read_bytes() == b"cache"
    assert [p.name for p in tmp_path.iterdir()] == ["dbt_target"]
    (target / PARTIAL_PARSE).unlink()
    assert list(fresh_target(target).iterdir()) == []  # no cache yet: an empty folder
