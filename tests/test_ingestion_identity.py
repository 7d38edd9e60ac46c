"""What a loaded vintage is: the snapshots upstream serves now, read by today's parser.

A publisher going back to an earlier file makes that file current again; a file the
catalogue no longer names stops reaching the reader; a reader or parse-option change
re-parses what was loaded; a failed fetch says which snapshot is still served.
"""

from __future__ import annotations

import dataclasses
import shutil

import duckdb
import pytest
from http_fixtures import Reply, serve

from pipelines.settings import DataHome
from pipelines.sources.catalogue import get_source
from pipelines.sources.fetch import Fetcher
from pipelines.sources.snapshots import RawStore
from pipelines.warehouse import fingerprint, ingestion
from pipelines.warehouse.ingestion import INVALID, LOADED, UNCHANGED, current_snapshots, ingest_vintage

SOURCE, VINTAGE, FILE = "anct_frr", "2025", "liste-communes-FRR-juillet2025.csv"


@pytest.fixture
def frr_files(sample_files, tmp_path):
    """Two versions of the sample FRR list: A as written, B with one commune fewer."""
    folder, _ = sample_files
    a = (folder / SOURCE / VINTAGE / FILE).read_bytes()
    lines = a.decode("utf-8").splitlines(keepends=True)
    b = "".join(lines[:-1]).encode("utf-8")
    return a, b


@pytest.fixture
def home(tmp_path):
    return DataHome(tmp_path / "home").ensure()


def ingest(home: DataHome, base_url: str | None, **options):
    store = RawStore(home.root)
    with Fetcher(store, mirror=base_url, retries=0, offline=base_url is None) as fetcher, duckdb.connect(str(home.work_db)) as con:
        return ingest_vintage(con, store, fetcher, get_source(SOURCE), VINTAGE, sample=True, **options)


def loaded_rows(home: DataHome) -> int:
    with duckdb.connect(str(home.work_db), read_only=True) as con:
        return con.execute(f'select count(*) from raw."{SOURCE}__communes" where _vintage = ?', [VINTAGE]).fetchone()[0]


def test_a_publisher_going_back_to_an_earlier_file_makes_it_current_again(home, frr_files):
    a, b = frr_files
    path = f"/{SOURCE}/{VINTAGE}/{FILE}"
    with serve(routes={path: [Reply(200, {}, a)]}) as server:
        assert ingest(home, server.base_url).status == LOADED
        rows_a = loaded_rows(home)
        server.script(path, [Reply(200, {}, b)])
        assert ingest(home, server.base_url).status == LOADED
        assert loaded_rows(home) == rows_a - 1
        server.script(path, [Reply(200, {}, a)])
        back = ingest(home, server.base_url)
    store = RawStore(home.root)
    assert back.status == LOADED and back.fetch_statuses == {FILE: "unchanged"}  # A again: no new snapshot
    assert loaded_rows(home) == rows_a
    current = current_snapshots(store, SOURCE, VINTAGE)
    assert [s.path.read_bytes() for s in current] == [a]
    assert len(store.snapshots(SOURCE, VINTAGE)) == 2  # B is kept, not current


def test_only_the_files_the_catalogue_names_reach_the_reader(home, frr_files, monkeypatch):
    a, _ = frr_files
    store = RawStore(home.root)
    # an old file name stored under the vintage (a renamed download, say) is not read once
    # the catalogue's file has been fetched
    stray = home.root / "stray.csv"
    stray.write_bytes(b"not,a,list\n")
    with Fetcher(store, offline=True) as fetcher:
        fetcher.ingest_file(SOURCE, VINTAGE, stray, file_name="old-name.csv")
    with serve(routes={f"/{SOURCE}/{VINTAGE}/{FILE}": [Reply(200, {}, a)]}) as server:
        outcome = ingest(home, server.base_url)
    assert outcome.status == LOADED
    assert [s.file_name for s in current_snapshots(store, SOURCE, VINTAGE)] == [FILE]


def test_a_reader_change_re_parses_what_was_loaded_and_force_does_too(home, frr_files, monkeypatch):
    a, _ = frr_files
    with serve(routes={f"/{SOURCE}/{VINTAGE}/{FILE}": [Reply(200, {}, a)]}) as server:
        assert ingest(home, server.base_url).status == LOADED
        assert ingest(home, server.base_url).status == UNCHANGED
        assert ingest(home, server.base_url, force=True).status == LOADED
        real = fingerprint.parser_fingerprint
        monkeypatch.setattr(ingestion, "parser_fingerprint", lambda source, vintage: "x" + real(source, vintage))
        assert ingest(home, server.base_url).status == LOADED  # same snapshot, new parser
        assert ingest(home, server.base_url).status == UNCHANGED


def test_the_parser_fingerprint_follows_the_reader_code_and_the_parse_options(tmp_path, monkeypatch):
    source = get_source(SOURCE)
    before = fingerprint.parser_fingerprint(source, VINTAGE)
    assert fingerprint.parser_fingerprint(source, VINTAGE) == before
    # a copy of the project's pipelines/ with one line added to the reader
    copy = tmp_path / "pipelines"
    shutil.copytree(fingerprint.PIPELINES, copy, ignore=shutil.ignore_patterns("__pycache__"))
    reader = copy / "sources" / "readers" / f"{source.reader}.py"
    monkeypatch.setattr(fingerprint, "PIPELINES", copy)
    monkeypatch.setattr(fingerprint, "PROJECT_ROOT", tmp_path)
    unchanged_copy = fingerprint.parser_fingerprint(source, VINTAGE)
    assert unchanged_copy == before  # the content counts, not where the project sits
    reader.write_text(reader.read_text(encoding="utf-8") + "\n# a fix\n", encoding="utf-8")
    assert fingerprint.parser_fingerprint(source, VINTAGE) != unchanged_copy
    # new parse options for the vintage
    entry = source.vintages[VINTAGE]
    changed = dataclasses.replace(
        source, vintages={VINTAGE: dataclasses.replace(entry, extra={**entry.extra, "parse": {"sep": ";"}})}
    )
    assert fingerprint.parser_fingerprint(changed, VINTAGE) != fingerprint.parser_fingerprint(source, VINTAGE)


def test_a_failed_fetch_says_which_snapshot_is_still_served(home, frr_files):
    a, _ = frr_files
    path = f"/{SOURCE}/{VINTAGE}/{FILE}"
    with serve(routes={path: [Reply(200, {}, a)]}) as server:
        assert ingest(home, server.base_url).status == LOADED
        server.script(path, [Reply(500, {}, b"down")])
        outcome = ingest(home, server.base_url)
    assert outcome.status == UNCHANGED and outcome.fetch_failed
    fetched_on = current_snapshots(RawStore(home.root), SOURCE, VINTAGE)[0].fetched_at[:10]
    described = outcome.describe()
    assert "fetch failed" in described and "HTTP 500" in described
    assert f"serving the snapshot of {fetched_on}" in described


def test_a_served_version_already_found_invalid_is_not_read_again_and_the_last_good_one_stays(home, frr_files):
    a, _ = frr_files
    broken = b"CODGEO;NOTHING\n"
    path = f"/{SOURCE}/{VINTAGE}/{FILE}"
    with serve(routes={path: [Reply(200, {}, a)]}) as server:
        assert ingest(home, server.base_url).status == LOADED
        rows = loaded_rows(home)
        server.script(path, [Reply(200, {}, broken)])
        first = ingest(home, server.base_url)
        again = ingest(home, server.base_url)
    assert first.status == INVALID and again.status == INVALID
    assert "was found invalid" in again.detail and "the last valid snapshot is used" in again.detail
    assert loaded_rows(home) == rows
