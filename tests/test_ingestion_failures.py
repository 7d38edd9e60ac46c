"""Broken source files: each is refused with a clear message and nothing already stored is lost."""

from __future__ import annotations

import json
import shutil

import duckdb
import pytest

from pipelines.cli.demo import serve_directory
from pipelines.warehouse.ingestion import INVALID, MISSING, current_snapshots, ingest_source
from pipelines.sources.catalogue import get_source
from pipelines.sources.fetch import Fetcher
from pipelines.sources.snapshots import RawStore

pytestmark = pytest.mark.integration


@pytest.fixture
def broken_mirror(tmp_path, sample_files):
    """A copy of the sample mirror that each test breaks in its own way."""
    folder, _ = sample_files
    target = tmp_path / "mirror"
    shutil.copytree(folder, target)
    return target


def _state(home, source_id, vintage):
    """(snapshot files on disk with their bytes, raw row hashes) of a loaded vintage."""
    store = RawStore(home.root)
    files = {s.path: s.path.read_bytes() for s in store.snapshots(source_id, vintage)}
    with duckdb.connect(str(home.work_db), read_only=True) as con:
        loads = con.execute(
            "select entity, snapshot_sha256, rows from meta.raw_loads where source = ? and vintage = ? order by 1",
            [source_id, vintage],
        ).fetchall()
    return files, loads


def _ingest_from(home, mirror, source_id, vintage):
    store = RawStore(home.root)
    with serve_directory(mirror) as base_url, Fetcher(store, mirror=base_url, retries=0) as fetcher:
        with duckdb.connect(str(home.work_db)) as con:
            outcome = ingest_source(con, store, fetcher, get_source(source_id), [vintage], sample=True)
    return outcome.vintages[0]


def _assert_nothing_lost(home, before, source_id, vintage):
    files_before, loads_before = before
    files_after, loads_after = _state(home, source_id, vintage)
    for path, data in files_before.items():
        assert files_after[path] == data  # every earlier snapshot is still there, byte for byte
    assert loads_after == loads_before  # the raw tables still hold the last good rows
    current = current_snapshots(RawStore(home.root), source_id, vintage)
    assert {s.path for s in current} <= set(files_before)  # the last good snapshots stay current


def _rewrite_json(path, change):
    records = json.loads(path.read_text("utf-8"))
    path.write_text(json.dumps([change(dict(r)) for r in records], ensure_ascii=False), encoding="utf-8")


def test_missing_column_in_etalab_communes(sample_build_copy, broken_mirror):
    home = sample_build_copy
    before = _state(home, "etalab_decoupage", "2026")
    _rewrite_json(broken_mirror / "etalab_decoupage/2026/communes.json", lambda r: {k: v for k, v in r.items() if k != "zone"})
    outcome = _ingest_from(home, broken_mirror, "etalab_decoupage", "2026")
    assert outcome.status == INVALID
    assert "etalab_decoupage 2026 communes.json" in outcome.detail and "column zone is missing" in outcome.detail
    _assert_nothing_lost(home, before, "etalab_decoupage", "2026")
    # the refused snapshot is kept for inspection, marked invalid
    store = RawStore(home.root)
    assert [store.status(s) for s in store.snapshots("etalab_decoupage", "2026") if s.path not in before[0]] == ["invalid"]


def test_renamed_column_in_cog_communes(sample_build_copy, broken_mirror):
    home = sample_build_copy
    before = _state(home, "insee_cog", "2026")
    path = broken_mirror / "insee_cog/2026/v_commune_2026.csv"
    path.write_text(path.read_text("utf-8").replace("TYPECOM,COM,", "TYPECOM,CODGEO,", 1), encoding="utf-8")
    outcome = _ingest_from(home, broken_mirror, "insee_cog", "2026")
    assert outcome.status == INVALID
    assert "v_commune_2026.csv" in outcome.detail and "column COM is missing" in outcome.detail
    _assert_nothing_lost(home, before, "insee_cog", "2026")


def test_codes_that_lost_their_leading_zero(sample_build_copy, broken_mirror):
    home = sample_build_copy
    before = _state(home, "insee_cog", "2026")
    path = broken_mirror / "insee_cog/2026/v_commune_2026.csv"
    text = path.read_text("utf-8")
    path.write_text(text + "COM,1001,84,01,01D,012,5,ABERGEMENT CLEMENCIAT,Abergement-Clémenciat,L'Abergement-Clémenciat,0108,\n", encoding="utf-8")
    outcome = _ingest_from(home, broken_mirror, "insee_cog", "2026")
    assert outcome.status == INVALID
    assert "'1001'" in outcome.detail and "leading zeros lost" in outcome.detail
    _assert_nothing_lost(home, before, "insee_cog", "2026")


def test_a_different_encoding(sample_build_copy, broken_mirror):
    home = sample_build_copy
    before = _state(home, "insee_cog", "2026")
    path = broken_mirror / "insee_cog/2026/v_commune_2026.csv"
    path.write_bytes(path.read_text("utf-8").encode("latin-1"))
    outcome = _ingest_from(home, broken_mirror, "insee_cog", "2026")
    assert outcome.status == INVALID
    assert "v_commune_2026.csv" in outcome.detail and "cannot be decoded as utf-8" in outcome.detail
    _assert_nothing_lost(home, before, "insee_cog", "2026")


def test_an_empty_file(sample_build_copy, broken_mirror):
    home = sample_build_copy
    before = _state(home, "insee_cog", "2026")
    (broken_mirror / "insee_cog/2026/v_mvt_commune_2026.csv").write_bytes(b"")
    outcome = _ingest_from(home, broken_mirror, "insee_cog", "2026")
    # the empty download is refused at the door; the vintage keeps its loaded rows
    assert outcome.fetch_statuses["v_mvt_commune_2026.csv"] == "failed"
    assert outcome.status == "unchanged"
    _assert_nothing_lost(home, before, "insee_cog", "2026")


def test_an_html_page_instead_of_a_csv(sample_build_copy, broken_mirror):
    home = sample_build_copy
    before = _state(home, "insee_cog", "2026")
    (broken_mirror / "insee_cog/2026/v_commune_2026.csv").write_text(
        "<!DOCTYPE html><html><body>Page introuvable</body></html>", encoding="utf-8"
    )
    outcome = _ingest_from(home, broken_mirror, "insee_cog", "2026")
    assert outcome.fetch_statuses["v_commune_2026.csv"] == "failed"
    assert "HTML" in outcome.detail
    _assert_nothing_lost(home, before, "insee_cog", "2026")


def test_a_vintage_absent_from_the_mirror_is_missing(sample_build_copy, broken_mirror):
    home = sample_build_copy
    shutil.rmtree(broken_mirror / "insee_cog" / "2026")
    outcome = _ingest_from(home, broken_mirror, "insee_cog", "2024")
    assert outcome.status == MISSING and "404" in outcome.detail


def test_a_vintage_withdrawn_upstream_keeps_its_last_snapshot_and_says_so(sample_build_copy, broken_mirror):
    # INSEE removed BPE 2023's zip from its URL when BPE 2024 came out: the same happens here
    # to a vintage already loaded.
    home = sample_build_copy
    before = _state(home, "insee_cog", "2026")
    shutil.rmtree(broken_mirror / "insee_cog" / "2026")
    outcome = _ingest_from(home, broken_mirror, "insee_cog", "2026")
    assert outcome.status == "unchanged" and outcome.fetch_failed
    assert any("404" in error for error in outcome.fetch_errors), outcome.fetch_errors
    assert outcome.serving_since and "serving the snapshot of" in outcome.describe()
    _assert_nothing_lost(home, before, "insee_cog", "2026")
