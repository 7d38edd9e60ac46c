"""anct_france_services: France Services points (GeoJSON), their coordinates and commune codes."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from source_checks import assert_refused_and_nothing_lost, dbt_build, load_from_folder


from pipelines.warehouse.ingestion import ingest_source
from pipelines.sample import anct_france_services as sample
from pipelines.sample import build_territory
from pipelines.settings import DataHome
from pipelines.sources.catalogue import get_source
from pipelines.sources.fetch import Fetcher
from pipelines.sources.readers.anct_france_services import read
from pipelines.sources.snapshots import RawStore

SOURCE = "anct_france_services"


# ------------------------------------------------------------------------------ real file


@pytest.mark.real_data
def test_reads_the_2021_points(real_data):
    points, path = read([real_data / "anct" / "france_services.geojson"], "2021")["points"]
    assert path.name == "france_services.geojson"
    assert points.height == 908 and points["MATRICULE"].n_unique() == 908
    first = points.row(0, named=True)
    assert (first["MATRICULE"], first["lib_france_services"], first["insee_com"]) == ("1", "Valserhône", "01033")
    assert (float(first["lat_wgs84"]), float(first["lon_wgs84"])) == (46.105747, 5.825644)
    # Every point has a geometry, and it agrees with the LATITUDE/LONGITUDE properties.
    assert (points["lon_wgs84"].cast(float) - points["LONGITUDE"].cast(float)).abs().max() < 1e-9
    # Two Corsican codes are malformed in the file: staging leaves their commune_code empty.
    assert sorted(points.filter(points["insee_com"].str.len_chars() != 5)["insee_com"].to_list()) == ["2B10", "2B14"]
    assert points["categorie"].value_counts().sort("categorie").rows() == [
        ("Antenne", 42), ("Antenne itinerante", 10), ("FS", 813), ("FS itinerante", 43)
    ]  # fmt: skip


@pytest.mark.real_data
def test_the_2021_file_passes_validation_when_ingested_by_hand(tmp_path, real_data):
    home = DataHome(tmp_path / "home").ensure()
    store = RawStore(home.root)
    with Fetcher(store, offline=True) as fetcher:
        fetcher.ingest_file(SOURCE, "2021", real_data / "anct" / "france_services.geojson")
    with duckdb.connect(str(home.work_db)) as con:
        outcome = ingest_source(con, store, None, get_source(SOURCE), ["2021"])
    assert outcome.vintages[0].status == "loaded", outcome.vintages[0].detail
    assert outcome.vintages[0].rows == {"points": 908}


# ------------------------------------------------------------------------------ sample


@pytest.fixture
def mirror(tmp_path) -> Path:
    folder = tmp_path / "mirror"
    assert sample.write(build_territory(), folder) == [sample.VINTAGE]
    return folder


def _geojson(mirror: Path) -> Path:
    return mirror / SOURCE / sample.VINTAGE / sample.FILE_NAME


def test_sample_loads_every_point(tmp_path, mirror):
    home = DataHome(tmp_path / "home").ensure()
    outcome = load_from_folder(home, mirror, SOURCE, sample.VINTAGE)
    assert outcome.status == "loaded", outcome.detail
    assert outcome.rows == {"points": len(sample.points(build_territory()))}


def test_a_point_without_geometry_takes_its_coordinate_properties(mirror):
    expected = [p for p in sample.points(build_territory()) if p["_point"] is None]
    assert len(expected) == 1
    points, _ = read([_geojson(mirror)], sample.VINTAGE)["points"]
    bus = points.filter(points["MATRICULE"] == str(expected[0]["MATRICULE"])).row(0, named=True)
    assert (float(bus["lon_wgs84"]), float(bus["lat_wgs84"])) == (expected[0]["LONGITUDE"], expected[0]["LATITUDE"])
    assert bus["categorie"] == "FS itinerante"


# ------------------------------------------------------------------------------ broken files


def _features(text: str) -> tuple[dict, list[dict]]:
    collection = json.loads(text)
    return collection, collection["features"]


def _drop_property(text: str, name: str) -> str:
    collection, features = _features(text)
    for feature in features:
        feature["properties"].pop(name)
    return json.dumps(collection, ensure_ascii=False)


def _decimal_comma_without_geometry(text: str) -> str:
    collection, features = _features(text)
    bus = next(f for f in features if f["geometry"] is None)
    bus["properties"]["LONGITUDE"] = str(bus["properties"]["LONGITUDE"]).replace(".", ",")
    return json.dumps(collection, ensure_ascii=False)


BROKEN = [
    pytest.param(
        lambda b: _drop_property(b.decode(), "MATRICULE").encode(), ["column MATRICULE is missing"], id="missing-column"
    ),
    pytest.param(
        lambda b: b.replace(b'"lib_france_services"', b'"nom_france_services"'),
        ["column lib_france_services is missing", "nom_france_services"], id="renamed-column",
    ),
    pytest.param(
        lambda b: _decimal_comma_without_geometry(b.decode()).encode(), ["column lon_wgs84", "decimal comma"],
        id="decimal-comma-coordinate",
    ),
    pytest.param(lambda b: b.decode().encode("latin-1"), ["not valid UTF-8 GeoJSON"], id="latin-1"),
    pytest.param(lambda b: b"", ["empty"], id="empty-file"),
    pytest.param(lambda b: b"[]", ["expected a GeoJSON FeatureCollection"], id="not-a-feature-collection"),
]


@pytest.mark.parametrize(("mutate", "expected"), BROKEN)
def test_broken_files_are_refused(tmp_path, mirror, mutate, expected):
    home = DataHome(tmp_path / "home").ensure()
    assert load_from_folder(home, mirror, SOURCE, sample.VINTAGE).status == "loaded"
    path = _geojson(mirror)
    path.write_bytes(mutate(path.read_bytes()))
    assert_refused_and_nothing_lost(home, mirror, SOURCE, sample.VINTAGE, sample.FILE_NAME, *expected)


# ------------------------------------------------------------------------------ staging


def test_staging_keeps_valid_codes_only_and_the_coordinates(tmp_path, mirror):
    # A code that lost its leading zero is repaired, a malformed one is left out (as 2B14 in
    # the 2021 file): insee_com is not checked at loading since points are located from
    # their coordinates.
    path = _geojson(mirror)
    collection, features = _features(path.read_text("utf-8"))
    features[0]["properties"]["insee_com"] = "1033"
    features[1]["properties"]["insee_com"] = "2B14"
    path.write_text(json.dumps(collection, ensure_ascii=False), encoding="utf-8")
    home = DataHome(tmp_path / "home").ensure()
    assert load_from_folder(home, mirror, SOURCE, sample.VINTAGE).status == "loaded"

    result = dbt_build(home.work_db, tmp_path, f"path:models/staging/{SOURCE}")
    assert result.returncode == 0, result.stdout[-3000:]
    expected = sample.points(build_territory())
    with duckdb.connect(str(home.work_db), read_only=True) as con:
        rows = con.execute(
            "select point_id, commune_code, commune_code_published, longitude, latitude, is_itinerant "
            "from staging.stg_anct_france_services__points order by point_id::integer"
        ).fetchall()
    assert len(rows) == len(expected)
    assert rows[0][1:3] == ("01033", "1033") and rows[1][1:3] == (None, "2B14")
    for row, point in zip(rows, expected):
        assert (row[3], row[4]) == (point["LONGITUDE"], point["LATITUDE"])
        assert row[5] == (point["categorie"] == "FS itinerante")
