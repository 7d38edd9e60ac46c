"""Tests of the raw store and the fetcher, against a local HTTP server only."""

from __future__ import annotations

import email.utils
import hashlib
import io
import json
import time
import zipfile

import pytest

from http_fixtures import Reply, http_server, serve  # noqa: F401  (http_server is a fixture)
from pipelines.sources.errors import SourceError, UnexpectedContentError
from pipelines.sources.fetch import FetchRequest, Fetcher, check_content, parse_retry_after
from pipelines.sources.snapshots import RawStore

CSV_V1 = b"code_commune,population\n01001,771\n"
CSV_V2 = b"code_commune,population\n01001,780\n"
HTML_PAGE = b"\n  <!DOCTYPE html><html><head><title>Page moved</title></head><body>Moved</body></html>"
JSON_ERROR = b'{"error": "quota exceeded", "status": 403}'


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture
def store(tmp_path) -> RawStore:
    return RawStore(tmp_path / "home")


class Sleeps(list):
    """Records the waits asked by the fetcher instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def fetcher(store, sleeps):
    with Fetcher(store, sleep=sleeps, connect_timeout=2, read_timeout=2, retries=2, progress=False) as f:
        yield f


def csv_request(url: str, file_name: str = "communes.csv", fmt: str = "csv") -> FetchRequest:
    return FetchRequest("insee", "2024", file_name, url, fmt)


def seed(fetcher: Fetcher, server, body: bytes = CSV_V1, path: str = "/communes.csv", **headers):
    """Store a first snapshot through a normal download and return it."""
    server.script(path, [Reply(200, {"Content-Type": "text/csv", **headers}, body)])
    result = fetcher.fetch(csv_request(server.url(path)))
    assert result.status == "downloaded", result.error
    return result.snapshot


def assert_intact(store: RawStore, snapshot, content: bytes) -> None:
    """The earlier snapshot is still there, byte for byte, and no temporary file is left."""
    assert snapshot.path.read_bytes() == content
    assert hashlib.sha256(content).hexdigest() == snapshot.sha256
    assert [s.sha256 for s in store.snapshots("insee", "2024")] == [snapshot.sha256]
    leftovers = [p for p in store.root.rglob(".*") if p.name.startswith((".partial", ".incoming", ".tmp"))]
    assert leftovers == []


# ------------------------------------------------------------------ store


def test_store_layout_and_sidecar(store, tmp_path):
    tmp = tmp_path / "download"
    tmp.write_bytes(CSV_V1)
    snap, created = store.add_file("insee", "2024", tmp, "communes.csv", url="http://x/c.csv",
                                   etag='"v1"', origin="live")
    sha = hashlib.sha256(CSV_V1).hexdigest()
    assert created and snap.sha256 == sha and snap.bytes == len(CSV_V1)
    assert snap.path == store.home / "raw" / "insee" / "2024" / sha / "communes.csv"
    assert not tmp.exists()
    sidecar = json.loads((snap.path.parent / "snapshot.json").read_text())
    assert sidecar["etag"] == '"v1"' and sidecar["origin"] == "live"

    again = tmp_path / "again"
    again.write_bytes(CSV_V1)
    same, created = store.add_file("insee", "2024", again, "communes.csv", origin="manual")
    assert not created and same == snap and not again.exists()
    assert json.loads((snap.path.parent / "snapshot.json").read_text()) == sidecar


def test_store_latest_skips_invalid(store, tmp_path):
    first = tmp_path / "a"
    first.write_bytes(CSV_V1)
    old, _ = store.add_file("insee", "2024", first, "communes.csv", origin="live")
    second = tmp_path / "b"
    second.write_bytes(CSV_V2)
    new, _ = store.add_file("insee", "2024", second, "communes.csv", origin="live")
    assert store.latest("insee", "2024", "communes.csv") == new
    assert store.status(new) == "unchecked"
    store.mark(new, "invalid", "population is negative")
    assert store.status(new) == "invalid"
    assert store.latest("insee", "2024") == old
    store.mark(new, "valid")
    assert store.latest("insee", "2024") == new
    for source, vintage, name in [("insee", "../etc", "x.csv"), ("a/b", "2024", "x.csv"), ("insee", "2024", "snapshot.json")]:
        with pytest.raises(ValueError):
            store.add_file(source, vintage, tmp_path / "unused", name, origin="live")


def test_store_same_content_under_two_names(store, tmp_path):
    for name in ("a.csv", "b.csv"):
        tmp = tmp_path / name
        tmp.write_bytes(CSV_V1)
        store.add_file("insee", "2024", tmp, name, origin="manual")
    assert sorted(s.file_name for s in store.snapshots("insee")) == ["a.csv", "b.csv"]
    b = store.latest("insee", "2024", "b.csv")
    store.mark(b, "invalid")
    assert store.status(store.latest("insee", "2024", "a.csv")) == "unchecked"


# --------------------------------------------------------------- fetching


def test_download_then_fetch_log(fetcher, store, http_server):
    snap = seed(fetcher, http_server, ETag='"v1"')
    assert snap.origin == "live" and snap.etag == '"v1"'
    assert http_server.requests[0].headers["User-Agent"] == "territoires/0.1"
    [entry] = store.attempts("insee")
    assert entry["status"] == "downloaded" and entry["sha256"] == snap.sha256
    lines = (store.root / "fetch_log.jsonl").read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["file_name"] == "communes.csv"


def test_retry_after_503_then_success(fetcher, store, sleeps, http_server):
    old = seed(fetcher, http_server)
    http_server.script("/communes.csv", [
        Reply(503, {"Retry-After": "7"}, b"busy"),
        Reply(200, {"Content-Type": "text/csv"}, CSV_V2),
    ])
    result = fetcher.fetch(csv_request(http_server.url("/communes.csv")))
    assert result.status == "downloaded"
    assert result.snapshot.path.read_bytes() == CSV_V2
    assert sleeps == [7.0]
    assert old.path.read_bytes() == CSV_V1
    assert len(store.snapshots("insee")) == 2


def test_429_honours_retry_after_date_and_backoff(fetcher, store, sleeps, http_server):
    old = seed(fetcher, http_server)
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    http_server.script("/communes.csv", [
        Reply(429, {"Retry-After": later}),
        Reply(500),
        Reply(200, {"Content-Type": "text/csv"}, CSV_V2),
    ])
    result = fetcher.fetch(csv_request(http_server.url("/communes.csv")))
    assert result.status == "downloaded"
    assert 25 <= sleeps[0] <= 30 and sleeps[1] == 2.0  # then exponential backoff (1 * 2**1)
    assert old.path.read_bytes() == CSV_V1


def test_retries_exhausted_and_404_fails_at_once(fetcher, store, sleeps, http_server):
    old = seed(fetcher, http_server)
    http_server.script("/communes.csv", [Reply(503, {"Retry-After": "600"})])
    result = fetcher.fetch(csv_request(http_server.url("/communes.csv")))
    assert result.status == "failed" and "HTTP 503" in result.error and "3 tries" in result.error
    assert sleeps == [60.0, 60.0]  # capped
    http_server.script("/communes.csv", [Reply(404)])
    sleeps.clear()
    result = fetcher.fetch(csv_request(http_server.url("/communes.csv")))
    assert result.status == "failed" and "HTTP 404" in result.error and sleeps == []
    assert "insee 2024" in result.error and http_server.url("/communes.csv") in result.error
    assert_intact(store, old, CSV_V1)
    assert [a["status"] for a in store.attempts()] == ["downloaded", "failed", "failed"]


def test_connection_refused_is_retried_then_fails(store, sleeps):
    with serve() as server:
        url = server.url("/gone.csv")
    with Fetcher(store, sleep=sleeps, retries=1, connect_timeout=1, progress=False) as fetcher:
        result = fetcher.fetch(csv_request(url))
    assert result.status == "failed" and "network error" in result.error and sleeps == [1.0]


def test_read_timeout_is_retried(store, sleeps, http_server):
    http_server.script("/communes.csv", [Reply(200, {}, CSV_V1, delay=0.5), Reply(200, {}, CSV_V1)])
    with Fetcher(store, sleep=sleeps, read_timeout=0.1, progress=False) as fetcher:
        result = fetcher.fetch(csv_request(http_server.url("/communes.csv")))
    assert result.status == "downloaded" and sleeps == [1.0]


def test_not_modified_reuses_snapshot(fetcher, store, http_server):
    old = seed(fetcher, http_server, ETag='"v1"', **{"Last-Modified": "Mon, 01 Jan 2024 00:00:00 GMT"})
    http_server.script("/communes.csv", [Reply(304, {"ETag": '"v1"'})])
    result = fetcher.fetch(csv_request(http_server.url("/communes.csv")))
    assert result.status == "not_modified" and result.snapshot == old
    sent = http_server.requests[-1].headers
    assert sent["If-None-Match"] == '"v1"'
    assert sent["If-Modified-Since"] == "Mon, 01 Jan 2024 00:00:00 GMT"
    assert_intact(store, old, CSV_V1)
    assert store.attempts()[-1]["status"] == "not_modified"


def test_redirect_is_followed_with_injected_client(store, http_server):
    import httpx

    http_server.script("/old.csv", [Reply(301, {"Location": "/new.csv"})])
    http_server.script("/new.csv", [Reply(200, {}, CSV_V1)])
    with httpx.Client() as client:
        fetcher = Fetcher(store, client=client, progress=False)
        result = fetcher.fetch(csv_request(http_server.url("/old.csv")))
    assert result.status == "downloaded" and result.snapshot.url == http_server.url("/old.csv")
    assert http_server.requests[-1].headers["User-Agent"] == "territoires/0.1"


def test_same_content_is_unchanged(fetcher, store, http_server):
    old = seed(fetcher, http_server)
    result = fetcher.fetch(csv_request(http_server.url("/communes.csv")))
    assert result.status == "unchanged" and result.snapshot == old
    assert "If-None-Match" not in http_server.requests[-1].headers
    assert_intact(store, old, CSV_V1)


def test_truncated_body_fails_and_leaves_nothing(fetcher, store, http_server):
    old = seed(fetcher, http_server)
    http_server.script("/communes.csv", [Reply(200, {"Content-Type": "text/csv"}, CSV_V2 * 100, truncate_to=50)])
    result = fetcher.fetch(csv_request(http_server.url("/communes.csv")))
    assert result.status == "failed"
    assert f"truncated: received 50 of {len(CSV_V2) * 100} bytes" in result.error
    assert_intact(store, old, CSV_V1)


def test_truncated_then_complete(fetcher, store, http_server):
    http_server.script("/communes.csv", [
        Reply(200, {}, CSV_V1, truncate_to=5),
        Reply(200, {}, CSV_V1),
    ])
    result = fetcher.fetch(csv_request(http_server.url("/communes.csv")))
    assert result.status == "downloaded" and result.snapshot.path.read_bytes() == CSV_V1


def test_html_instead_of_csv(fetcher, store, http_server):
    old = seed(fetcher, http_server)
    http_server.script("/communes.csv", [Reply(200, {"Content-Type": "text/plain"}, HTML_PAGE)])
    result = fetcher.fetch(csv_request(http_server.url("/communes.csv")))
    assert result.status == "failed"
    assert "HTML page instead of a CSV file" in result.error and "moved" in result.error
    assert_intact(store, old, CSV_V1)
    assert store.attempts()[-1]["status"] == "invalid"


def test_html_content_type_instead_of_csv(fetcher, store, http_server):
    old = seed(fetcher, http_server)
    http_server.script("/communes.csv", [Reply(200, {"Content-Type": "text/html; charset=utf-8"}, b"nope")])
    result = fetcher.fetch(csv_request(http_server.url("/communes.csv")))
    assert result.status == "failed" and "HTML" in result.error
    assert_intact(store, old, CSV_V1)


def test_json_error_instead_of_csv(fetcher, store, http_server):
    old = seed(fetcher, http_server)
    http_server.script("/communes.csv", [Reply(200, {"Content-Type": "application/json"}, JSON_ERROR)])
    result = fetcher.fetch(csv_request(http_server.url("/communes.csv")))
    assert result.status == "failed"
    assert "JSON document instead of a CSV file" in result.error and "quota exceeded" in result.error
    assert_intact(store, old, CSV_V1)


def test_wrong_magic_for_zip(fetcher, store, http_server):
    good = zip_bytes({"stops.txt": b"stop_id\n1\n"})
    http_server.script("/gtfs.zip", [Reply(200, {"Content-Type": "application/zip"}, good)])
    first = fetcher.fetch(csv_request(http_server.url("/gtfs.zip"), "gtfs.zip", "zip"))
    assert first.status == "downloaded"
    http_server.script("/gtfs.zip", [Reply(200, {"Content-Type": "application/zip"}, b"Rar!\x1a\x07\x00 not a zip")])
    result = fetcher.fetch(csv_request(http_server.url("/gtfs.zip"), "gtfs.zip", "zip"))
    assert result.status == "failed" and "not a valid ZIP file" in result.error
    assert_intact(store, first.snapshot, good)


def test_empty_body_and_size_cap(store, sleeps, http_server):
    http_server.script("/empty.csv", [Reply(200, {}, b"")])
    http_server.script("/big.csv", [Reply(200, {}, CSV_V1 * 10)])
    with Fetcher(store, sleep=sleeps, max_bytes=100, progress=False) as fetcher:
        empty = fetcher.fetch(csv_request(http_server.url("/empty.csv"), "empty.csv"))
        big = fetcher.fetch(csv_request(http_server.url("/big.csv"), "big.csv"))
    assert empty.status == "failed" and "empty" in empty.error
    assert big.status == "failed" and "limit of 100 bytes" in big.error and sleeps == []
    assert store.snapshots() == []


def test_same_content_as_invalid_snapshot_is_served_again_without_a_new_snapshot(fetcher, store, http_server):
    bad = seed(fetcher, http_server)
    store.mark(bad, "invalid", "wrong columns")
    result = fetcher.fetch(csv_request(http_server.url("/communes.csv")))
    # the fetch reports what upstream serves; ingestion refuses it (or checks it again after a reader fix)
    assert result.status == "unchanged" and result.snapshot == bad
    assert store.served(bad.source, bad.vintage)[bad.file_name]["sha256"] == bad.sha256
    assert store.status(bad) == "invalid" and len(store.snapshots()) == 1


def test_progress_bar_goes_to_stderr(store, http_server, capsys):
    http_server.script("/communes.csv", [Reply(200, {}, CSV_V1)])
    with Fetcher(store, progress=True) as fetcher:
        assert fetcher.fetch(csv_request(http_server.url("/communes.csv"))).status == "downloaded"
    captured = capsys.readouterr()
    assert captured.out == "" and "communes.csv" in captured.err


# ----------------------------------------------------------------- mirrors


def test_directory_mirror(store, tmp_path, sleeps):
    mirror = tmp_path / "mirror"
    (mirror / "insee" / "2024").mkdir(parents=True)
    (mirror / "insee" / "2024" / "communes.csv").write_bytes(CSV_V1)
    with Fetcher(store, mirror=str(mirror), progress=False) as fetcher:
        result = fetcher.fetch(csv_request("https://example.invalid/communes.csv"))
        assert result.status == "downloaded" and result.snapshot.origin == "mirror"
        assert result.snapshot.path.read_bytes() == CSV_V1
        assert fetcher.fetch(csv_request(None)).status == "unchanged"
        missing = fetcher.fetch(csv_request(None, "absent.csv"))
    assert missing.status == "failed"
    assert str(mirror / "insee" / "2024" / "absent.csv") in missing.error
    assert_intact(store, result.snapshot, CSV_V1)
    assert store.attempts()[0]["origin"] == "mirror"


def test_http_mirror(store, tmp_path):
    mirror = tmp_path / "mirror"
    (mirror / "insee" / "2024").mkdir(parents=True)
    (mirror / "insee" / "2024" / "communes.csv").write_bytes(CSV_V1)
    with serve(directory=mirror) as server, Fetcher(store, mirror=server.base_url + "/", progress=False) as fetcher:
        result = fetcher.fetch(csv_request("https://example.invalid/communes.csv"))
        assert server.requests[0].path == "/insee/2024/communes.csv"
    assert result.status == "downloaded" and result.snapshot.origin == "mirror"
    assert result.snapshot.url == server.url("/insee/2024/communes.csv")
    assert result.snapshot.path.read_bytes() == CSV_V1


# ----------------------------------------------------------------- offline


def test_offline_without_and_with_cache(store, tmp_path):
    with Fetcher(store, offline=True, client=None) as offline:
        result = offline.fetch(csv_request("http://127.0.0.1:9/never"))
        assert result.status == "not_cached"
        assert "no cached snapshot of insee 2024 communes.csv" in result.error
        assert "territoires ingest" in result.error and "--offline" in result.error

        source = tmp_path / "communes.csv"
        source.write_bytes(CSV_V1)
        snap = offline.ingest_file("insee", "2024", source)
        cached = offline.fetch(csv_request("http://127.0.0.1:9/never"))
    assert cached.status == "cached" and cached.snapshot == snap
    # nothing was attempted the first time: no line in the fetch log
    assert [a["status"] for a in store.attempts()] == ["ingested", "cached"]


def test_missing_url_fails_clearly(fetcher):
    result = fetcher.fetch(csv_request(None))
    assert result.status == "failed" and "no URL is known" in result.error


# ------------------------------------------------------------------ ingest


def test_manual_ingest_good_and_html(fetcher, store, tmp_path):
    good = tmp_path / "communes.csv"
    good.write_bytes(CSV_V1)
    snap = fetcher.ingest_file("insee", "2024", good)
    assert snap.origin == "manual" and snap.path.read_bytes() == CSV_V1 and good.exists()
    assert store.attempts()[-1]["status"] == "ingested"

    page = tmp_path / "download.csv"
    page.write_bytes(HTML_PAGE)
    with pytest.raises(UnexpectedContentError, match="HTML page instead of a CSV file") as info:
        fetcher.ingest_file("insee", "2024", page, file_name="communes.csv")
    assert info.value.source == "insee" and info.value.file_name == "communes.csv"
    assert store.attempts()[-1]["status"] == "invalid"
    with pytest.raises(SourceError, match="no file at this path"):
        fetcher.ingest_file("insee", "2024", tmp_path / "nope.csv")
    assert_intact(store, snap, CSV_V1)


# ------------------------------------------------------------ content sniffing


@pytest.mark.parametrize(
    ("body", "fmt", "content_type", "message"),
    [
        (b"\xef\xbb\xbf  <HTML><body>x</body></HTML>", "csv", None, "HTML page"),
        (b"\x00" * 10, "parquet", None, "not a valid Parquet file"),
        (b"PK\x03\x04rest", "csv", None, "ZIP archive"),
        (b"<?xml version='1.0'?><Error><Code>NoSuchKey</Code></Error>", "zip", None, "XML document"),
        (b"hello", "xlsx", None, "not a valid Excel"),
        (b"not json", "geojson", None, "not GeoJSON"),
        (b'{"message": "rate limited"}', "txt", None, "rate limited"),
        (b"a,b\n", "csv", "application/json", "JSON document"),
    ],
)
def test_check_content_refuses(tmp_path, body, fmt, content_type, message):
    path = tmp_path / "f"
    path.write_bytes(body)
    with pytest.raises(UnexpectedContentError, match=message):
        check_content(path, fmt, content_type)


@pytest.mark.parametrize(
    ("body", "fmt", "content_type"),
    [
        (CSV_V1, "csv", "text/csv"),
        (b'{"type": "FeatureCollection"}', "geojson", "application/json"),
        (b"[1, 2]", "json", None),
        (b"\x1f\x8b\x08rest", "json.gz", "text/html"),  # the signature wins over a wrong header
        (b"PAR1....PAR1", "parquet", None),
        (b"\xd0\xcf\x11\xe0rest", "xls", None),
        (zip_bytes({"a": b"b"}), "xlsx", None),
    ],
)
def test_check_content_accepts(tmp_path, body, fmt, content_type):
    path = tmp_path / "f"
    path.write_bytes(body)
    check_content(path, fmt, content_type)


def test_parse_retry_after():
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert parse_retry_after("Mon, 01 Jan 2001 00:00:00 GMT") == 0.0


def test_unknown_format_is_refused():
    with pytest.raises(ValueError, match="expected_format"):
        FetchRequest("insee", "2024", "x.bin", None, "bin")


def test_json_gz_kept_byte_for_byte(fetcher, store, http_server):
    import gzip

    payload = gzip.compress(b'{"a": 1}')
    http_server.script("/data.json.gz", [Reply(200, {"Content-Type": "application/gzip"}, payload)])
    result = fetcher.fetch(csv_request(http_server.url("/data.json.gz"), "data.json.gz", "json.gz"))
    assert result.status == "downloaded" and result.snapshot.path.read_bytes() == payload
    assert http_server.requests[-1].headers["Accept-Encoding"] == "identity"
