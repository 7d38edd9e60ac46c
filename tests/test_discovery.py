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
from pipelines.sources.secrets import carries_credentials

SNCF_NATIONAL = "https://eu.ftp.opendatasoft.com/sncf/plandata/Export_OpenData_SNCF_GTFS_NewTripId.zip"


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
    # the expired summer shuttle, the NeTEx and GTFS-RT resources and the community copy are
    # left out; SNCF's national feed, absent from the list, comes from its fixed URL
    files = {f.name: f.url for f in week.files}
    assert sorted(files) == ["horaires-sncf.zip", "mobigo-saone-et-loire.zip", "sncf-ter.zip", "tcl-sytral.zip"]
    assert files.pop("horaires-sncf.zip") == SNCF_NATIONAL
    assert all(url.startswith("https://transport.data.gouv.fr/resources/") for url in files.values())
    assert "valid on 2026-11-24" in week.found_by and "fixed URL for horaires-sncf" in week.found_by
    assert week.skipped == ()


def _gtfs(resource_id: int, **extra) -> dict:
    """A GTFS resource of the dataset list, valid all winter."""
    return {"id": resource_id, "format": "GTFS", "is_available": True,
            "url": f"https://transport.data.gouv.fr/resources/{resource_id}/download",
            "original_url": f"https://producer.example/{resource_id}.zip",
            "metadata": {"start_date": "2026-09-01", "end_date": "2027-03-31"}} | extra  # fmt: skip


def _discover_in(datasets: list[dict]):
    reply = Reply(200, {"Content-Type": "application/json"}, json.dumps(datasets).encode())
    with serve(routes={"/api/datasets": [reply]}) as server:
        [week] = discover(with_url("transport_gtfs", server.url("/api/datasets")), today=date(2026, 11, 26))
    return week


def test_feeds_that_need_credentials_are_skipped_and_reported():
    week = _discover_in([
        {"slug": "reseau-urbain", "resources": [_gtfs(1)]},
        # the producer's URL needs a login: the platform could not download it
        {"slug": "horaires-theoriques-du-reseau-transports-en-commun-lyonnais",
         "resources": [_gtfs(2, is_available=False, url="https://download.data.grandlyon.com/GTFS_TCL.ZIP")]},
        {"slug": "reseau-a-cle", "resources": [_gtfs(3, url="https://api.example.fr/gtfs.zip?apikey=abc")]},
        {"slug": "reseau-a-compte", "resources": [_gtfs(4, url="https://user:secret@producer.example/4.zip")]},
    ])  # fmt: skip
    assert {f.name: f.url for f in week.files} == {
        "horaires-sncf.zip": SNCF_NATIONAL,
        "reseau-urbain.zip": "https://transport.data.gouv.fr/resources/1/download",
    }
    assert [why.split(":")[0] for why in week.skipped] == [
        "horaires-theoriques-du-reseau-transports-en-commun-lyonnais", "reseau-a-cle", "reseau-a-compte",
    ]
    assert "is_available: false" in week.skipped[0] and "credentials" in week.skipped[1]
    assert "skipped horaires-theoriques-du-reseau-transports-en-commun-lyonnais: unavailable" in week.found_by


def test_the_national_sncf_feed_listed_by_the_platform_is_not_fetched_twice():
    week = _discover_in([{"slug": "horaires-sncf", "resources": [_gtfs(83582)]}])
    assert [(f.name, f.url) for f in week.files] == [
        ("horaires-sncf.zip", "https://transport.data.gouv.fr/resources/83582/download"),
    ]
    # listed but unavailable, or expired: the fixed URL stands in
    for resource in (_gtfs(83582, is_available=False), _gtfs(83582, metadata={"end_date": "2026-11-01"})):
        week = _discover_in([{"slug": "horaires-sncf", "resources": [resource]}])
        assert [(f.name, f.url) for f in week.files] == [("horaires-sncf.zip", SNCF_NATIONAL)]


def test_fixed_feeds_of_the_catalogue_carry_no_credentials():
    fixed = get_source("transport_gtfs").discovery["fixed_feeds"]
    assert {"dataset": "horaires-sncf", "url": SNCF_NATIONAL} in fixed
    assert not any(carries_credentials(entry["url"]) for entry in fixed)
    assert carries_credentials("https://a.example/f.zip?token=x") and carries_credentials("https://u:p@a.example/f.zip")
    assert not carries_credentials("https://transport.data.gouv.fr/resources/81943/download")


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
