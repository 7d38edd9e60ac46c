"""Finding new weeks and months upstream: the dataset list, Last-Modified, a mirror's folders."""

from __future__ import annotations

import dataclasses
import json
from datetime import date

import pytest
from http_fixtures import Reply, serve

from pipelines.cli.demo import serve_directory
from pipelines.sample import build_territory
from pipelines.sample.transport_gtfs import api_document
from pipelines.sources.catalogue import get_source, well_formed
from pipelines.sources.discovery import discover, stock_month
from pipelines.sources.errors import FetchError


def with_url(source_id: str, url: str):
    source = get_source(source_id)
    return dataclasses.replace(source, discovery={**source.discovery, "url": url})


def test_well_formed_vintages_of_weekly_and_monthly_sources():
    assert well_formed("weekly", "2026-W48") and well_formed("weekly", "2020-W53")
    assert not well_formed("weekly", "2021-W53")  # 2021 has 52 ISO weeks
    assert not well_formed("weekly", "2026-48") and not well_formed("weekly", "2026-11-24")
    assert well_formed("monthly", "2026-11") and not well_formed("monthly", "2026-13")
    gtfs = get_source("transport_gtfs")
    assert gtfs.vintage("2017-W02").files == ()  # any week, no catalogue edit
    with pytest.raises(ValueError, match="written like 2026-W48"):
        gtfs.vintage("2017-02")


def test_this_week_s_feeds_come_from_the_national_dataset_list():
    document = json.dumps(api_document(build_territory())).encode()
    with serve(routes={"/api/datasets": [Reply(200, {"Content-Type": "application/json"}, document)]}) as server:
        source = with_url("transport_gtfs", server.url("/api/datasets"))
        [week] = discover(source, today=date(2026, 11, 26))
    assert week.vintage == "2026-W48"
    # the expired summer shuttle, the NeTEx and GTFS-RT resources and the community copy are left out
    assert [f.name for f in week.files] == ["mobigo-saone-et-loire.zip", "sncf-ter.zip", "tcl-sytral.zip"]
    assert all(f.url.startswith("https://transport.data.gouv.fr/resources/") for f in week.files)
    assert "valid on 2026-11-24" in week.found_by


def test_the_month_of_a_stock_comes_from_its_last_modified_date():
    assert stock_month("Sun, 01 Nov 2026 03:10:00 GMT") == "2026-11"
    assert stock_month("Sat, 31 Oct 2026 22:40:00 GMT") == "2026-11"  # published the evening before
    assert stock_month("Mon, 16 Nov 2026 08:00:00 GMT") == "2026-11"  # a correction mid-month
    headers = {"Last-Modified": "Tue, 01 Dec 2026 04:00:00 GMT", "Content-Length": "12"}
    with serve(routes={"/stock.parquet": [Reply(200, headers, b"PAR1........")]}) as server:
        source = with_url("insee_sirene", server.url("/stock.parquet"))
        [month] = discover(source)
        assert {r.method for r in server.requests} == {"HEAD"}  # nothing downloaded to find out
    assert month.vintage == "2026-12"
    assert [(f.name, f.format) for f in month.files] == [("StockEtablissement_utf8.parquet", "parquet")]


def test_a_stock_without_a_date_is_an_error_naming_the_url():
    with serve(routes={"/stock.parquet": [Reply(200, {}, b"PAR1")]}) as server:
        source = with_url("insee_sirene", server.url("/stock.parquet"))
        with pytest.raises(FetchError, match=r"insee_sirene, from http://127\.0\.0\.1:\d+/stock\.parquet: .*Last-Modified"):
            discover(source)


@pytest.mark.parametrize("over_http", [False, True], ids=["folder", "http"])
def test_a_mirror_s_week_and_month_folders_are_its_vintages(tmp_path, over_http):
    for week, feeds in {"2026-W48": ["a.zip", "b.zip"], "2026-W49": ["a.zip"], "notes": ["x.zip"]}.items():
        folder = tmp_path / "transport_gtfs" / week
        folder.mkdir(parents=True)
        for name in feeds:
            (folder / name).write_bytes(b"PK\x03\x04")
        (folder / "README.txt").write_text("index", encoding="utf-8")
    (tmp_path / "insee_sirene" / "2026-12").mkdir(parents=True)
    (tmp_path / "insee_sirene" / "2026-12" / "StockEtablissement_utf8.parquet").write_bytes(b"PAR1")
    if over_http:
        with serve_directory(tmp_path) as base:
            weeks, months = discover(get_source("transport_gtfs"), mirror=base), discover(get_source("insee_sirene"), mirror=base)
    else:
        weeks, months = discover(get_source("transport_gtfs"), mirror=str(tmp_path)), discover(get_source("insee_sirene"), mirror=str(tmp_path))
    assert [(w.vintage, [f.name for f in w.files if f.format == "zip"]) for w in weeks] == [
        ("2026-W48", ["a.zip", "b.zip"]), ("2026-W49", ["a.zip"]),
    ]  # fmt: skip
    assert [(m.vintage, [(f.name, f.entity) for f in m.files]) for m in months] == [
        ("2026-12", [("StockEtablissement_utf8.parquet", "establishments")])
    ]
