"""Noticing upstream changes: a new vintage in the mirror triggers a run for that source only."""

from __future__ import annotations

import shutil

import dagster as dg
import pytest
from http_fixtures import Reply, serve

from pipelines.orchestration.definitions import defs
from pipelines.orchestration.resources import SourceClient, WarehouseResource
from pipelines.orchestration.sensors import upstream_changes
from pipelines.sources.fetch import Fetcher, FetchRequest
from pipelines.sources.snapshots import RawStore
from pipelines.orchestration.upstream import detect_changes

pytestmark = pytest.mark.integration


def evaluate(home, mirror):
    from pipelines.orchestration.instance import prepare_dagster_home

    prepare_dagster_home(home)
    with dg.DagsterInstance.get() as instance:
        context = dg.build_sensor_context(
            instance=instance,
            resources={"warehouse": WarehouseResource(home=str(home.root)), "sources": SourceClient(mirror=str(mirror))},
            definitions=defs,
        )
        return upstream_changes(context)


def test_nothing_new_in_the_mirror_requests_nothing(sample_build_copy, mirror):
    result = evaluate(sample_build_copy, mirror)
    assert isinstance(result, dg.SkipReason) and "nothing new upstream" in result.skip_message


def test_a_new_vintage_in_the_mirror_triggers_that_source_then_the_transformation(sample_build_copy, mirror):
    shutil.copytree(mirror / "etalab_decoupage" / "2025", mirror / "etalab_decoupage" / "2024")
    changes = detect_changes(RawStore(sample_build_copy.root), mirror=str(mirror))
    assert {(c.source, c.vintage, c.reason) for c in changes} == {("etalab_decoupage", "2024", "new")}
    requests = evaluate(sample_build_copy, mirror)
    assert len(requests) == 2
    ingest, transform = requests
    # the ingestion run: that source's asset, for that vintage only
    assert [k.to_user_string() for k in ingest.asset_selection] == ["raw/etalab_decoupage"]
    assert (ingest.tags["dagster/asset_partition_range_start"], ingest.tags["dagster/asset_partition_range_end"]) == ("2024", "2024")
    assert ingest.tags["territoires/trigger"] == "sensor upstream_changes"
    assert ingest.run_config["resources"]["sources"]["config"]["mirror"] == str(mirror)
    # then the transformation: programme inputs, dbt, publish and exports, no raw asset
    selected = {key.to_user_string() for key in transform.asset_selection}
    assert {"programmes/rule_files", "geo/commune", "warehouse/published", "exports/latest"} <= selected
    assert not any(key.startswith("raw/") for key in selected)
    # the same change asks for the same runs (the run keys deduplicate them)
    assert [r.run_key for r in evaluate(sample_build_copy, mirror)] == [r.run_key for r in requests]


def test_a_changed_file_in_the_mirror_is_noticed(sample_build_copy, mirror):
    path = mirror / "anct_frr" / "2025" / "liste-communes-FRR-juillet2025.csv"
    path.write_bytes(path.read_bytes() + b"\n")
    changes = detect_changes(RawStore(sample_build_copy.root), mirror=str(mirror))
    assert [(c.source, c.vintage, c.reason) for c in changes] == [("anct_frr", "2025", "changed")]


def test_http_etag_and_last_modified_decide(tmp_path, monkeypatch):
    from pipelines.sources import catalogue

    store = RawStore(tmp_path)
    body = b"CODGEO;X\n01001;1\n"
    etag = {"ETag": '"v1"', "Last-Modified": "Mon, 02 Nov 2026 10:00:00 GMT"}
    with serve(routes={"/anct_frr/2025/liste-communes-FRR-juillet2025.csv": [Reply(200, etag, body)]}) as server:
        with Fetcher(store, mirror=server.base_url, retries=0) as fetcher:
            fetched = fetcher.fetch(
                FetchRequest("anct_frr", "2025", "liste-communes-FRR-juillet2025.csv", None, "csv")
            )
        assert fetched.status == "downloaded"
        only_frr = {"anct_frr": catalogue.load_catalogue()["anct_frr"]}
        monkeypatch.setattr("pipelines.orchestration.upstream.load_catalogue", lambda: only_frr)
        assert detect_changes(store, mirror=server.base_url) == []
        server.script(
            "/anct_frr/2025/liste-communes-FRR-juillet2025.csv",
            [Reply(200, {"ETag": '"v2"', "Last-Modified": "Tue, 24 Nov 2026 10:00:00 GMT"}, body + b"01002;2\n")],
        )
        changes = detect_changes(store, mirror=server.base_url)
        assert [(c.source, c.reason) for c in changes] == [("anct_frr", "changed")]
        assert {r.method for r in server.requests[1:]} == {"HEAD"}  # nothing downloaded to find out
