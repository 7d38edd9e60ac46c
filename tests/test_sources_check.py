"""`territoires sources --check`: the catalogue's URLs checked against a local server, no download."""

from __future__ import annotations

import json
import socket

import pytest
import yaml
from click.testing import CliRunner
from http_fixtures import Reply, serve

from pipelines.cli import main
from pipelines.sources import catalogue as catalogue_module
from pipelines.sources import url_check
from pipelines.sources.catalogue import load_catalogue

MODIFIED = "Wed, 15 Jan 2025 10:00:00 GMT"
ROUTES = {
    "/good.zip": [Reply(200, {"Content-Type": "application/zip", "Content-Length": "12345", "Last-Modified": MODIFIED})],
    "/gone.csv": [Reply(404, {"Content-Type": "text/plain"}, b"not found")],
    "/moved.zip": [Reply(301, {"Location": "/landing"})],
    "/landing": [Reply(200, {"Content-Type": "text/html; charset=utf-8"}, b"<html>our new site</html>")],
    "/page.csv": [Reply(200, {"Content-Type": "text/html"}, b"<html>error</html>")],
    # refuses HEAD; the range GET that follows gets the first byte and the total size
    "/nohead.csv": [Reply(405, {"Allow": "GET"}), Reply(206, {"Content-Type": "text/csv", "Content-Range": "bytes 0-0/5000"}, b"a")],
    "/api/datasets": [Reply(200, {"Content-Type": "application/json"}, b"[]")],
    "/stock.parquet": [Reply(200, {"Content-Type": "application/octet-stream", "Content-Length": "999"})],
}


def _source(title: str, **extra) -> dict:
    return {"title": title, "publisher": "Test", "licence": "Licence Ouverte", "reader": "none", **extra}


def write_catalogue(folder, url) -> None:
    """A small catalogue: one good static source, one with every kind of broken file, one weekly source."""
    entries = {
        "good_src": _source("Good", vintages={
            2024: {"files": [{"name": "good.zip", "format": "zip", "url": url("/good.zip")}]},
            2025: {"files": [{"name": "by_hand.csv", "format": "csv", "url": None}]},
        }),
        "bad_src": _source("Bad", vintages={2024: {"files": [
            {"name": "gone.csv", "format": "csv", "url": url("/gone.csv")},
            {"name": "moved.zip", "format": "zip", "url": url("/moved.zip")},
            {"name": "page.csv", "format": "csv", "url": url("/page.csv")},
            {"name": "nohead.csv", "format": "csv", "url": url("/nohead.csv")},
        ]}}),
        "weekly_src": _source(
            "Weekly", partitions="weekly",
            discovery={"method": "transport_datasets", "url": url("/api/datasets"),
                       "fixed_feeds": [{"dataset": "national-rail", "url": url("/good.zip")}]},
            vintage_template={
                "current_files": [{"name": "stock.parquet", "format": "parquet", "url": url("/stock.parquet")}],
                "past_files": [{"name": "old.zip", "format": "zip", "url": url("/{vintage}-old.zip")}],
            },
        ),
    }  # fmt: skip
    folder.mkdir()
    for source_id, entry in entries.items():
        (folder / f"{source_id}.yml").write_text(yaml.safe_dump(entry), encoding="utf-8")


@pytest.fixture
def served(tmp_path):
    """(server, catalogue) with the catalogue's URLs pointing at the local server."""
    with serve(routes=ROUTES) as server:
        write_catalogue(tmp_path / "catalogue", server.url)
        yield server, load_catalogue(tmp_path / "catalogue")


def results_by_file(catalogue) -> dict[str, url_check.CheckResult]:
    targets = url_check.catalogue_targets(catalogue.values())
    return {r.file_name: r for r in url_check.check(targets, timeout=5)}


# ------------------------------------------------------------------ module


def test_targets_cover_vintages_discovery_fixed_feeds_and_current_files_but_not_vintage_patterns(served):
    _, catalogue = served
    targets = url_check.catalogue_targets(catalogue.values())
    assert [(t.source, t.vintage, t.file_name) for t in targets] == [
        ("bad_src", "2024", "gone.csv"), ("bad_src", "2024", "moved.zip"),
        ("bad_src", "2024", "page.csv"), ("bad_src", "2024", "nohead.csv"),
        ("good_src", "2024", "good.zip"), ("good_src", "2025", "by_hand.csv"),
        ("weekly_src", "discovery", "datasets"), ("weekly_src", "fixed", "national-rail.zip"),
        ("weekly_src", "current", "stock.parquet"),
    ]  # fmt: skip
    assert next(t for t in targets if t.file_name == "by_hand.csv").url is None
    assert not any("{vintage}" in (t.url or "") for t in targets)


def test_a_good_file_is_ok_with_its_size_date_and_type(served):
    server, catalogue = served
    good = results_by_file(catalogue)["good.zip"]
    assert (good.verdict, good.status, good.size, good.last_modified) == ("ok", 200, 12345, MODIFIED)
    assert good.content_type == "application/zip" and good.type_fits is True
    assert [r.method for r in server.requests_for("/good.zip")] == ["HEAD"]


def test_broken_urls_say_why(served):
    _, catalogue = served
    results = results_by_file(catalogue)
    gone, moved, page = results["gone.csv"], results["moved.zip"], results["page.csv"]
    assert (gone.verdict, gone.status) == ("broken", 404) and "moved or been removed" in gone.reason
    assert moved.verdict == "broken" and moved.reason == f"moved: now an HTML page at {moved.final_url}"
    assert moved.final_url.endswith("/landing")
    assert (page.verdict, page.type_fits) == ("broken", False) and "HTML page instead of a csv file" in page.reason


def test_a_server_refusing_head_is_checked_with_a_one_byte_range_get(served):
    server, catalogue = served
    nohead = results_by_file(catalogue)["nohead.csv"]
    assert (nohead.verdict, nohead.status, nohead.size, nohead.type_fits) == ("ok", 206, 5000, True)
    requests = server.requests_for("/nohead.csv")
    assert [r.method for r in requests] == ["HEAD", "GET"] and requests[1].headers["Range"] == "bytes=0-0"


def test_dynamic_sources_and_files_without_url(served):
    _, catalogue = served
    results = results_by_file(catalogue)
    assert (results["datasets"].verdict, results["stock.parquet"].verdict) == ("ok", "ok")
    assert results["by_hand.csv"].verdict == "no_url" and results["by_hand.csv"].status is None


def test_one_request_per_distinct_url():
    with serve(routes=ROUTES) as server:
        targets = [url_check.Target("s", v, "good.zip", "zip", server.url("/good.zip")) for v in ("2024", "2025")]
        assert [r.verdict for r in url_check.check(targets, timeout=5)] == ["ok", "ok"]
        assert len(server.requests_for("/good.zip")) == 1


def test_an_unreachable_server_is_broken():
    with socket.socket() as sock:  # a free local port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    [result] = url_check.check([url_check.Target("s", "2024", "f.csv", "csv", f"http://127.0.0.1:{port}/f.csv")], timeout=5)
    assert result.verdict == "broken" and result.status is None and "could not connect" in result.reason


@pytest.mark.parametrize(
    ("fmt", "content_type", "fits"),
    [
        ("zip", "application/zip", True),
        ("zip", "application/x-zip-compressed", True),
        ("zip", "binary/octet-stream", True),
        ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", True),
        ("parquet", "application/octet-stream", True),
        ("csv", "text/csv; charset=utf-8", True),
        ("csv", "text/plain", True),
        ("csv", "application/csv", True),
        ("csv", "application/octet-stream", True),
        ("csv", "application/json", False),
        ("zip", "text/csv", False),
        ("geojson", "application/geo+json", True),
        ("json", "text/html; charset=utf-8", False),
        (None, "application/json", True),
        (None, "text/html", False),
        ("csv", None, None),
    ],
)
def test_content_type_fits_the_format(fmt, content_type, fits):
    assert url_check.content_type_fits(fmt, content_type) is fits


# ------------------------------------------------------------------ command


@pytest.fixture
def run(served, monkeypatch):
    _, catalogue = served
    monkeypatch.setattr(catalogue_module, "load_catalogue", lambda folder=None: catalogue)

    def invoke(*args):
        return CliRunner().invoke(main, ["sources", "--check", "--timeout", "5", *args], catch_exceptions=False)

    return invoke


def test_the_command_exits_1_when_a_url_is_broken(run):
    result = run()
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert any(line.startswith("BROKEN") and "bad_src 2024 gone.csv" in line and "HTTP 404" in line for line in lines)
    assert any(line.startswith("ok") and "good_src 2024 good.zip" in line and "HTTP 200" in line and "12,345 B" in line for line in lines)
    assert any(line.startswith("no URL") and "good_src 2025 by_hand.csv" in line for line in lines)
    assert lines[-1] == "5 ok, 3 broken, 1 without URL"


def test_the_command_exits_0_when_every_url_is_good(run):
    result = run("--source", "good_src", "--source", "weekly_src")
    assert result.exit_code == 0, result.output
    assert "bad_src" not in result.output
    assert result.output.splitlines()[-1] == "4 ok, 0 broken, 1 without URL"


def test_the_command_prints_json(run):
    result = run("--json", "--source", "bad_src")
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["summary"] == {"ok": 1, "broken": 3, "no_url": 0}
    assert {r["file_name"]: r["status"] for r in report["results"]} == {
        "gone.csv": 404, "moved.zip": 200, "page.csv": 200, "nohead.csv": 206,
    }  # fmt: skip


def test_an_unknown_source_is_refused(run):
    result = CliRunner().invoke(main, ["sources", "--check", "--source", "nope"])
    assert result.exit_code == 1 and "unknown source 'nope'" in result.output
