"""An API key a source needs comes from the environment and is written nowhere.

The catalogue names it in a URL as `${NAME}` (pipelines/sources/secrets.py). A data home
loads a real file (ANCT's FRR list) from a local server that wants the key; then the
server fails in the ways that make HTTP libraries quote URLs (errors, a redirect loop,
an HTML page). The key reaches the server, and no byte of the data home (sidecars,
fetch log, snapshots, logs) and no text value of the warehouse holds it.
"""

from __future__ import annotations

import dataclasses
import uuid

import duckdb
import pytest

from http_fixtures import Reply, serve
from pipelines.sources.catalogue import get_source
from pipelines.sources.fetch import Fetcher
from pipelines.sources.secrets import MASK, expand, redact
from pipelines.sources.snapshots import RawStore
from pipelines.warehouse.ingestion import ingest_vintage

pytestmark = pytest.mark.real_data

KEY = "TERRITOIRES_TEST_FRR_API_KEY"
PATH = "/frr/liste-communes-FRR-juillet2025.csv"


def frr_with_key(url: str):
    """ANCT's FRR source, its 2025 file behind a URL that needs the key."""
    source = get_source("anct_frr")
    vintage = source.vintages["2025"]
    files = tuple(dataclasses.replace(f, url=url) for f in vintage.files)
    return dataclasses.replace(source, vintages={**source.vintages, "2025": dataclasses.replace(vintage, files=files)})


def ingest(home, source, server):
    store = RawStore(home)
    with Fetcher(store, sleep=lambda s: None, retries=1, connect_timeout=1, read_timeout=2, progress=False) as fetcher:
        with duckdb.connect(str(home / "warehouse.duckdb")) as con:
            return ingest_vintage(con, store, fetcher, source, "2025")


def text_values_holding(database, secret: str) -> list[str]:
    """Every (table.column) of the database whose text values hold the secret."""
    with duckdb.connect(str(database), read_only=True) as con:
        columns = con.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where data_type = 'VARCHAR' or data_type like 'VARCHAR[]%' or data_type like 'STRUCT%' or data_type like 'MAP%'"
        ).fetchall()
        found = []
        for schema, table, column in columns:
            hit = con.execute(
                f'select count(*) from "{schema}"."{table}" where cast("{column}" as varchar) like ?', [f"%{secret}%"]
            ).fetchone()[0]
            if hit:
                found.append(f"{schema}.{table}.{column}")
        return found


def test_a_key_from_the_environment_is_sent_and_written_nowhere(real_data, tmp_path, monkeypatch):
    secret = f"k3y-{uuid.uuid4().hex}"
    monkeypatch.setenv(KEY, secret)
    home = tmp_path / "home"
    home.mkdir()
    body = (real_data / "frr" / "liste-communes-FRR-juillet2025.csv").read_bytes()
    with serve() as server:
        source = frr_with_key(server.url(PATH) + "?apikey=${" + KEY + "}&format=csv")
        redirect_loop = Reply(302, {"Location": server.url(PATH) + f"?apikey={secret}&again=1"})
        server.script(PATH, [
            Reply(200, {"Content-Type": "text/csv"}, body),  # loaded
            Reply(500, body=b"boom"), Reply(500, body=b"boom"),  # gave up after 2 tries
            *[redirect_loop] * 25,  # too many redirects, each Location carrying the key
            Reply(200, {"Content-Type": "text/html"}, b"<html><title>Bad key " + secret.encode() + b"</title></html>"),
        ])  # fmt: skip
        outcomes = [ingest(home, source, server) for _ in range(4)]
        received = [r.query for r in server.requests]
    assert outcomes[0].status == "loaded", outcomes[0].describe()
    assert [o.status for o in outcomes[1:]] == ["unchanged"] * 3, [o.describe() for o in outcomes]
    assert f"apikey={secret}&format=csv" in received[0], "the key was not sent"
    said = "\n".join(o.describe() for o in outcomes)
    assert "HTTP 500" in said and "redirect" in said.lower() and "HTML page" in said, said
    assert secret not in said
    assert "apikey=${" + KEY + "}" in said  # the URL is shown with its placeholder

    written = [p for p in home.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]
    assert not written, f"the key was written to {written}"
    assert not text_values_holding(home / "warehouse.duckdb", secret)
    urls = {a["url"] for a in RawStore(home).attempts("anct_frr")}
    assert urls == {server.url(PATH) + "?apikey=${" + KEY + "}&format=csv"}


def test_a_key_missing_from_the_environment_stops_that_file_naming_the_variable(real_data, tmp_path, monkeypatch):
    monkeypatch.delenv(KEY, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    with serve() as server:
        outcome = ingest(home, frr_with_key(server.url(PATH) + "?apikey=${" + KEY + "}"), server)
        requests = list(server.requests)
    assert outcome.status == "missing"
    assert f"the URL needs the environment variable {KEY}" in outcome.describe()
    assert requests == [], "a request went out without its key"


def test_redact_masks_the_values_used_and_credential_parameters(monkeypatch):
    monkeypatch.setenv(KEY, "s3cr3t-value")
    assert expand("https://a.example/f?apikey=${" + KEY + "}") == "https://a.example/f?apikey=s3cr3t-value"
    assert redact("GET https://a.example/f?x=1&apikey=s3cr3t-value failed") == f"GET https://a.example/f?x=1&apikey={MASK} failed"
    assert redact("an error quoting s3cr3t-value alone") == f"an error quoting {MASK} alone"
    assert redact("https://b.example/f?token=abc&page=2") == f"https://b.example/f?token={MASK}&page=2"
    assert redact("https://b.example/f?apikey=${NAME}") == "https://b.example/f?apikey=${NAME}"  # placeholders stay
