"""A snapshot of the Dagster definitions: a changed asset graph shows up in review."""

from __future__ import annotations

import dagster as dg

from pipelines.definitions import defs

EXPECTED_ASSETS = {
    "raw/etalab_decoupage",
    "raw/insee_cog",
    "reference/indicator_definitions",
    "staging/stg_etalab_decoupage__communes",
    "staging/stg_etalab_decoupage__departements",
    "staging/stg_etalab_decoupage__epci",
    "staging/stg_etalab_decoupage__epci_members",
    "staging/stg_etalab_decoupage__regions",
    "staging/stg_insee_cog__communes",
    "staging/stg_insee_cog__movements",
    "intermediate/int_commune_code_links",
    "intermediate/int_geography_target",
    "intermediate/int_indicator_parts",
    "intermediate/int_population_harmonised",
    "geo/commune",
    "geo/commune_passage",
    "geo/departement",
    "geo/epci",
    "geo/region",
    "indicators/catalogue",
    "indicators/long",
    "warehouse/published",
}


def test_asset_graph_is_the_expected_one():
    graph = defs.resolve_asset_graph()
    assert {key.to_user_string() for key in graph.get_all_asset_keys()} == EXPECTED_ASSETS


def test_dbt_sources_hang_off_the_raw_assets():
    graph = defs.resolve_asset_graph()
    parents = graph.get(dg.AssetKey(["staging", "stg_etalab_decoupage__communes"])).parent_keys
    assert parents == {dg.AssetKey(["raw", "etalab_decoupage"])}
    published = graph.get(dg.AssetKey(["warehouse", "published"])).parent_keys
    assert dg.AssetKey(["indicators", "long"]) in published


def test_every_raw_asset_has_its_validation_check_and_dbt_tests_are_checks():
    checks = {(key.asset_key.to_user_string(), key.name) for key in defs.resolve_asset_graph().asset_check_keys}
    assert ("raw/etalab_decoupage", "raw_files_valid") in checks
    assert ("raw/insee_cog", "raw_files_valid") in checks
    assert any(asset == "geo/commune" and name.startswith("unique_geo_commune") for asset, name in checks)


def test_the_build_job_runs_in_process():
    job = defs.resolve_job_def("build_warehouse")
    assert job.executor_def.name == "in_process"
