"""etalab_contours: the commune polygons of each COG year (Etalab's contours administratifs)."""

from __future__ import annotations

import gzip
import json
import shutil
import tempfile
from pathlib import Path

import duckdb
import pytest
from byte_draws import BYTE_FAULTS, byte_fault, cut_short
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
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


# ------------------------------------------------------------------------------ reader properties

CODES = st.one_of(
    st.sampled_from(["01001", "2A004", "2B033", "97411", "75056"]),
    st.builds("{:02d}{:03d}".format, st.integers(1, 95).filter(lambda n: n != 20), st.integers(1, 999)),
)
NAMES = st.text("abcdefghijklmnopqrstuvwxyzÉéèâçô' -", min_size=1, max_size=15)
# a triangle or a square of random size somewhere in France (lon, lat)
POLYGONS = st.builds(
    lambda lon, lat, size, square: {"type": "Polygon", "coordinates": [
        [[lon, lat], [lon + size, lat], [lon + size, lat + size]] + ([[lon, lat + size]] if square else []) + [[lon, lat]]
    ]},
    st.floats(-5, 9), st.floats(41, 51), st.floats(0.001, 0.2), st.booleans(),
)  # fmt: skip
FEATURES = st.lists(st.tuples(CODES, NAMES, POLYGONS), min_size=1, max_size=8, unique_by=lambda f: f[0])


def run(test, examples: int) -> None:
    settings(max_examples=examples, deadline=None, database=None,
             suppress_health_check=[HealthCheck.too_slow])(given(data=st.data())(test))()  # fmt: skip


def test_well_formed_collections_read_back_as_written():
    def prop(data):
        features = data.draw(FEATURES)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / FILE_NAME
            write_collection(path, [feature(code, polygon, nom=name) for code, name, polygon in features])
            frame, _ = read([path], "2025")["communes"]
        assert frame.select("code", "nom").rows() == [(code, name) for code, name, _ in features]
        with duckdb.connect() as con:
            con.execute("load spatial")
            areas = con.execute(
                "select st_area(st_geomfromhexwkb(h)) from unnest(?) with ordinality as t(h, i) order by i",
                [frame["contour_wkb_hex"].to_list()],
            ).fetchall()
        for (area,), (_, _, polygon) in zip(areas, features):
            size = polygon["coordinates"][0][1][0] - polygon["coordinates"][0][0][0]
            assert area == pytest.approx(size * size / (1 if len(polygon["coordinates"][0]) == 5 else 2), rel=1e-6)

    run(prop, 15)


def test_broken_files_give_their_features_or_a_refusal_naming_the_file():
    def prop(data):
        features = data.draw(FEATURES)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / FILE_NAME
            write_collection(path, [feature(code, polygon, nom=name) for code, name, polygon in features])
            original = path.read_bytes()
            how = data.draw(st.sampled_from([*BYTE_FAULTS, "inner-truncated", "inner-junk"]))
            if how in BYTE_FAULTS:
                broken = byte_fault(data, original, how)
            else:
                text = gzip.decompress(original)
                inner = cut_short(data, text) if how == "inner-truncated" else text.replace(b'"Polygon"', b'"Polygone"', 1)
                broken = gzip.compress(inner, mtime=0)
            path.write_bytes(broken)
            try:
                frame, _ = read([path], "2025")["communes"]
            except ParseError as exc:
                assert str(exc).startswith(f"etalab_contours 2025 {FILE_NAME}: "), exc
                return
        # read: every feature it gives is one that was written, with its polygon
        written = {code: name for code, name, _ in features}
        assert all(written.get(code) == name for code, name in frame.select("code", "nom").rows())
        assert frame["contour_wkb_hex"].null_count() == 0 or how != "empty"

    run(prop, 40)
