"""etalab_contours: the commune polygons of each COG year (Etalab's contours administratifs)."""

from __future__ import annotations

import gzip
import json
import shutil

import duckdb
import pytest
from source_checks import assert_refused_and_nothing_lost, load_from_folder

from pipelines.sample import build_territory
from pipelines.sample.etalab_contours import FILE_NAME
from pipelines.settings import DataHome
from pipelines.sources.readers.common import ParseError
from pipelines.sources.readers.etalab_contours import read

SOURCE = "etalab_contours"


@pytest.fixture
def sample_folder(tmp_path, sample_files):
    folder, _ = sample_files
    target = tmp_path / "mirror"
    shutil.copytree(folder / SOURCE, target / SOURCE)
    return target


def feature(code, geometry, **properties) -> dict:
    return {"type": "Feature", "properties": {"code": code, "nom": f"Commune {code}", **properties}, "geometry": geometry}


SQUARE = {"type": "Polygon", "coordinates": [[[4.0, 46.0], [4.1, 46.0], [4.1, 46.1], [4.0, 46.1], [4.0, 46.0]]]}
TWO_ISLANDS = {"type": "MultiPolygon", "coordinates": [[[[8.0, 41.0], [8.1, 41.0], [8.1, 41.1], [8.0, 41.0]]],
                                                        [[[8.2, 41.2], [8.3, 41.2], [8.3, 41.3], [8.2, 41.2]]]]}  # fmt: skip


def write_collection(path, features) -> None:
    path.write_bytes(gzip.compress(json.dumps({"type": "FeatureCollection", "features": features}).encode(), mtime=0))


def test_reads_codes_names_and_polygons_as_wkb(tmp_path):
    path = tmp_path / FILE_NAME
    write_collection(path, [feature("01001", SQUARE), feature("2A004", TWO_ISLANDS)])
    frame, found = read([path], "2025")["communes"]
    assert found == path and frame["code"].to_list() == ["01001", "2A004"]
    with duckdb.connect() as con:
        con.execute("load spatial")
        shapes = con.execute(
            "select st_geometrytype(st_geomfromhexwkb(h))::varchar, round(st_area(st_geomfromhexwkb(h)), 6) from unnest(?) as t(h)",
            [frame["contour_wkb_hex"].to_list()],
        ).fetchall()
    assert shapes == [("POLYGON", 0.01), ("MULTIPOLYGON", 0.01)]


@pytest.mark.parametrize(
    ("features", "expected"),
    [
        ([{"type": "Feature", "properties": {"insee": "01001"}, "geometry": SQUARE}], "no property 'code'"),
        ([feature("01001", {"type": "Point", "coordinates": [4.0, 46.0]})], "not polygons (first: code 01001, POINT)"),
    ],
    ids=["no-code", "points"],
)
def test_files_that_are_not_commune_polygons_are_refused_naming_the_file(tmp_path, features, expected):
    path = tmp_path / FILE_NAME
    write_collection(path, features)
    with pytest.raises(ParseError, match=f"^etalab_contours 2025 {FILE_NAME}: .*") as refused:
        read([path], "2025")
    assert expected in str(refused.value)


def test_sample_loads_a_polygon_for_every_commune_of_each_vintage(tmp_path, sample_folder):
    home = DataHome(tmp_path / "home").ensure()
    territory = build_territory()
    for vintage in ("2025", "2026"):
        outcome = load_from_folder(home, sample_folder, SOURCE, vintage)
        assert outcome.status == "loaded", outcome.detail
        assert outcome.rows == {"communes": len(territory.geography(vintage).actuelles)}


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda data: data[: len(data) // 2], "not a readable gzip file"),
        (lambda data: b"<html><body>Service indisponible</body></html>", FILE_NAME),
        (lambda data: gzip.compress(gzip.decompress(data).replace(b'"code"', b'"insee"'), mtime=0), "no property 'code'"),
    ],
    ids=["truncated", "html-page", "renamed-code"],
)
def test_broken_files_are_refused_and_the_loaded_contours_kept(tmp_path, sample_folder, mutate, expected):
    home = DataHome(tmp_path / "home").ensure()
    assert load_from_folder(home, sample_folder, SOURCE, "2026").status == "loaded"
    path = sample_folder / SOURCE / "2026" / FILE_NAME
    path.write_bytes(mutate(path.read_bytes()))
    assert_refused_and_nothing_lost(home, sample_folder, SOURCE, "2026", expected)
