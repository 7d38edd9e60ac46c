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


@pytest.fixture
def mirror(tmp_path, sample_files):
    folder, _ = sample_files
    target = tmp_path / "mirror"
    shutil.copytree(folder, target)  # keeps the files' dates: older than the snapshots
    return target


def evaluate(home, mirror):
    context = dg.build_sensor_context(
        resources={"warehouse": WarehouseResource(home=str(home.root)), "sources": SourceClient(mirror=str(mirror))},
        definitions=defs,
    )
    return upstream_changes(context)


def test_nothing_new_in_the_mirror_requests_nothing(sample_build_copy, mirror):
    result = evaluate(sample_build_copy, mirror)
    assert isinstance(result, dg.SkipReason) and "nothing new upstream" in result.skip_message


def test_a_new_vintage_in_the_mirror_triggers_that_source_only(sample_build_copy, mirror):
    shutil.copytree(mirror / "etalab_decoupage" / "2025", mirror / "etalab_decoupage" / "2024")
    changes = detect_changes(RawStore(sample_build_copy.root), mirror=str(mirror))
    assert {(c.source, c.vintage, c.reason) for c in changes} == {("etalab_decoupage", "2024", "new")}
    requests = evaluate(sample_build_copy, mirror)
    assert len(requests) == 1
    request = requests[0]
    assert request.run_config == {"ops": {"raw__etalab_decoupage": {"config": {"vintages": ["2024"]}}}}
    selected = {key.to_user_string() for key in request.asset_selection}
    assert "raw/etalab_decoupage" in selected and "geo/commune" in selected and "warehouse/published" in selected
    assert not any(key.startswith("raw/") and key != "raw/etalab_decoupage" for key in selected)
    # only what depends on the geography: the equipment staging does not
    assert "staging/stg_insee_bpe__equipments" not in selected
    # the same change asks for the same run (the run key deduplicates it)
    assert evaluate(sample_build_copy, mirror)[0].run_key == request.run_key


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
        monkeypatch.setattr("pipelines.upstream.load_catalogue", lambda: only_frr)
        assert detect_changes(store, mirror=server.base_url) == []
        server.script(
            "/anct_frr/2025/liste-communes-FRR-juillet2025.csv",
            [Reply(200, {"ETag": '"v2"', "Last-Modified": "Tue, 24 Nov 2026 10:00:00 GMT"}, body + b"01002;2\n")],
        )
        changes = detect_changes(store, mirror=server.base_url)
        assert [(c.source, c.reason) for c in changes] == [("anct_frr", "changed")]
        assert {r.method for r in server.requests[1:]} == {"HEAD"}  # nothing downloaded to find out
