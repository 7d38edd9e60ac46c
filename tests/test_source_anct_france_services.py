"""anct_france_services: France Services points, from the national list (CSV) or the 2020 GeoJSON."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import polars as pl
import pytest
from source_checks import assert_refused_and_nothing_lost, dbt_build, load_from_folder

from pipelines.sample import anct_france_services as sample
from pipelines.sample import build_territory
from pipelines.settings import DataHome
from pipelines.sources.catalogue import get_source
from pipelines.sources.fetch import Fetcher
from pipelines.sources.readers.anct_france_services import read
from pipelines.sources.readers.common import ParseError
from pipelines.sources.snapshots import RawStore
from pipelines.warehouse.ingestion import ingest_source

SOURCE = "anct_france_services"
REAL_LIST = Path("france-services") / "liste-fs-20240801.csv"
REAL_GEOJSON = Path("anct") / "france_services.geojson"
COLUMNS = [
    "MATRICULE", "lib_france_services", "insee_com", "lib_com", "code_postal", "ADRESSE", "DEPARTEMENT",
    "TYPE_FS", "FORMAT_FS", "Groupe", "Labellisation", "LONGITUDE", "LATITUDE", "lon_wgs84", "lat_wgs84",
]  # fmt: skip
COMMUNE_CODE = r"^([0-9]{2}|2[AB])[0-9]{3}$"


def query(database: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(sql).fetchall()


# ------------------------------------------------------------------------------ real files


@pytest.mark.real_data
def test_reads_the_2024_national_list(real_data):
    points, path = read([real_data / REAL_LIST], "2024")["points"]
    assert path.name == "liste-fs-20240801.csv"
    assert points.columns == COLUMNS
    assert points.height == 2_845 and points["MATRICULE"].n_unique() == 2_845
    # every point has coordinates, in France (métropole and outre-mer), published as plain decimals
    lon, lat = points["lon_wgs84"].cast(pl.Float64), points["lat_wgs84"].cast(pl.Float64)
    assert lon.null_count() == lat.null_count() == 0
    assert lon.min() > -64 and lon.max() < 56 and lat.min() > -22 and lat.max() < 52
    assert (points["lon_wgs84"] == points["LONGITUDE"]).all()
    # every commune code is a valid 5-character code (the 2020 file had malformed ones)
    assert points["insee_com"].str.contains(COMMUNE_CODE).all()
    assert points["DEPARTEMENT"].str.len_chars().is_in([2, 3]).all()
    by_commune = dict(points.select("insee_com", "MATRICULE").iter_rows())
    assert by_commune["71153"] == "1811" and by_commune["23001"] == "2922"  # Le Creusot, Ahun
    assert "57132" not in by_commune  # Château-Salins has none in this list
    assert dict(points["TYPE_FS"].value_counts().iter_rows()) == {"Principal": 2_721, "Antenne": 124}
    assert dict(points["FORMAT_FS"].value_counts().iter_rows()) == {
        "Fixe": 2_400, "Multisites": 174, "Bus_équivalent": 134, "Fixe_antenne(s)": 108, "Itinérante": 29
    }  # fmt: skip
    creusot = points.filter(pl.col("MATRICULE") == "1811").row(0, named=True)
    assert (creusot["lib_france_services"], creusot["lib_com"]) == ("France services Le Creusot", "Le Creusot")


@pytest.mark.real_data
def test_a_semicolon_list_with_a_bom_reads_the_same(tmp_path, real_data):
    # data.gouv.fr reusers describe later lists as ';'-separated with a UTF-8 BOM
    original, _ = read([real_data / REAL_LIST], "2024")["points"]
    raw = pl.read_csv(real_data / REAL_LIST, infer_schema=False)
    path = tmp_path / "liste-fs.csv"
    path.write_bytes(b"\xef\xbb\xbf" + raw.write_csv(separator=";").encode("utf-8"))
    points, _ = read([path], "2026")["points"]
    assert points.equals(original)


@pytest.mark.real_data
def test_reads_the_2020_geojson(real_data):
    points, path = read([real_data / REAL_GEOJSON], "2020")["points"]
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
    # the labelling of September 2020 is the newest: the file is vintage 2020
    assert points["Labellisation"].str.extract(r"(\d{4})$").unique().to_list() == ["2020"]
    assert points.filter(pl.col("Labellisation") == "Espace labellisé 01/09/2020").height == 328


@pytest.mark.real_data
@pytest.mark.integration
def test_real_files_pass_validation_and_staging(tmp_path, real_data):
    home = DataHome(tmp_path / "home").ensure()
    store = RawStore(home.root)
    with Fetcher(store, offline=True) as fetcher:
        fetcher.ingest_file(SOURCE, "2020", real_data / REAL_GEOJSON)
        fetcher.ingest_file(SOURCE, "2024", real_data / REAL_LIST)
    with duckdb.connect(str(home.work_db)) as con:
        outcome = ingest_source(con, store, None, get_source(SOURCE), ["2020", "2024"])
    for vintage, rows in zip(outcome.vintages, (908, 2_845)):
        assert vintage.status == "loaded", vintage.detail
        assert vintage.rows == {"points": rows}

    result = dbt_build(home.work_db, tmp_path, f"path:models/staging/{SOURCE}")
    assert result.returncode == 0 and "WARN=0" in result.stdout, result.stdout[-3000:]
    rows = query(
        home.work_db,
        "select vintage, count(*), count(commune_code), count(*) filter (where site_type = 'Antenne'), "
        "count(*) filter (where is_itinerant), count(longitude) from staging.stg_anct_france_services__points "
        "group by vintage order by vintage",
    )
    # 2020: two malformed codes, 52 antennas, 53 itinerant; 2024: 124 antennas, 163 buses or itinerant
    assert rows == [("2020", 908, 906, 52, 53, 908), ("2024", 2_845, 2_845, 124, 163, 2_845)]


def test_the_2020_geojson_is_vintage_2020_and_the_list_vintages_are_csv():
    source = get_source(SOURCE)
    assert source.vintage_ids == ["2020", "2024", "2026"]
    assert [(f.name, f.format) for f in source.vintage("2020").files] == [("france_services.geojson", "geojson")]
    assert [(f.name, f.format) for f in source.vintage("2024").files] == [("liste-fs-20240801.csv", "csv")]
    assert [f.format for f in source.vintage("2026").files] == ["csv"]


# ------------------------------------------------------------------------------ sample


@pytest.fixture(scope="module")
def territory():
    return build_territory()


@pytest.fixture
def mirror(tmp_path, territory) -> Path:
    """The sample mirror (the 2026 list) plus the same places as the 2020 GeoJSON."""
    folder = tmp_path / "mirror"
    assert sample.write(territory, folder) == [sample.VINTAGE]
    sample.write_geojson(territory, folder)
    return folder


def _list(mirror: Path) -> Path:
    return mirror / SOURCE / sample.VINTAGE / sample.FILE_NAME


def _geojson(mirror: Path) -> Path:
    return mirror / SOURCE / sample.GEOJSON_VINTAGE / sample.GEOJSON_FILE_NAME


def test_sample_list_is_in_the_official_layout(mirror):
    assert [f.name for f in get_source(SOURCE).vintage(sample.VINTAGE).files] == [sample.FILE_NAME]
    lines = _list(mirror).read_text("utf-8").split("\n")
    real_header = '"id_fs","insee_dep","lib_fs","adresse","complement_adresse","insee_com","code_postal","lib_com",'
    assert lines[0].startswith(real_header) and lines[0].endswith('"format_fs","groupe_fs","labellisation_fs"')
    # text quoted, coordinates bare, empty fields empty
    assert lines[1].startswith('"1","') and ',,"' in lines[1] and lines[-1] == ""


@pytest.mark.parametrize("vintage", [sample.VINTAGE, sample.GEOJSON_VINTAGE])
def test_sample_loads_every_point(tmp_path, mirror, territory, vintage):
    home = DataHome(tmp_path / "home").ensure()
    outcome = load_from_folder(home, mirror, SOURCE, vintage)
    assert outcome.status == "loaded", outcome.detail
    assert outcome.rows == {"points": len(sample.points(territory))}


def test_both_layouts_give_the_same_points(mirror, territory):
    listed, _ = read([_list(mirror)], sample.VINTAGE)["points"]
    mapped, _ = read([_geojson(mirror)], sample.GEOJSON_VINTAGE)["points"]
    assert listed.columns == COLUMNS
    common = ["MATRICULE", "lib_france_services", "insee_com", "code_postal", "DEPARTEMENT"]
    assert listed.select(common).equals(mapped.select(common))
    coordinates = [pl.col(c).cast(pl.Float64) for c in ("lon_wgs84", "lat_wgs84")]
    assert listed.select(coordinates).equals(mapped.select(coordinates))


def test_a_point_without_geometry_takes_its_coordinate_properties(mirror, territory):
    expected = [p for p in sample.geojson_properties(territory) if p["ITINERANCE"] == "Oui"]
    assert len(expected) == 1
    points, _ = read([_geojson(mirror)], sample.GEOJSON_VINTAGE)["points"]
    bus = points.filter(points["MATRICULE"] == str(expected[0]["MATRICULE"])).row(0, named=True)
    assert (float(bus["lon_wgs84"]), float(bus["lat_wgs84"])) == (expected[0]["LONGITUDE"], expected[0]["LATITUDE"])
    assert bus["categorie"] == "FS itinerante"


def test_a_list_without_a_required_column_names_the_file_and_the_column(tmp_path, mirror):
    path = tmp_path / "liste-fs-20240801.csv"
    path.write_bytes(pl.read_csv(_list(mirror), infer_schema=False).drop("latitude").write_csv().encode("utf-8"))
    expected = r"^anct_france_services 2024 liste-fs-20240801\.csv: column latitude is missing"
    with pytest.raises(ParseError, match=expected):
        read([path], "2024")


# ------------------------------------------------------------------------------ broken files


def _edit_list(change):
    """A change of the list as a polars frame of text columns, written back comma-separated."""

    def mutate(data: bytes) -> bytes:
        return change(pl.read_csv(data, infer_schema=False)).write_csv().encode("utf-8")

    return mutate


def _decimal_comma(data: bytes) -> bytes:
    frame = pl.read_csv(data, infer_schema=False).with_columns(pl.col("longitude").str.replace(".", ",", literal=True))
    return frame.write_csv(separator=";").encode("utf-8")


BROKEN_LISTS = [
    pytest.param(_edit_list(lambda f: f.drop("latitude")), ["column latitude is missing"], id="missing-column"),
    pytest.param(
        _edit_list(lambda f: f.rename({"id_fs": "identifiant"})), ["column id_fs is missing", "identifiant"],
        id="renamed-column",
    ),
    pytest.param(_decimal_comma, ["column lon_wgs84", "decimal comma"], id="decimal-comma-coordinate"),
    pytest.param(
        _edit_list(lambda f: pl.concat([f, f.head(1)])), ["rows share their key with another row"], id="duplicated-id"
    ),
    pytest.param(lambda b: b.decode().encode("latin-1"), ["cannot be decoded as utf-8"], id="latin-1"),
    pytest.param(lambda b: b"", ["empty"], id="empty-file"),
]


@pytest.mark.parametrize(("mutate", "expected"), BROKEN_LISTS)
def test_broken_lists_are_refused(tmp_path, mirror, mutate, expected):
    home = DataHome(tmp_path / "home").ensure()
    assert load_from_folder(home, mirror, SOURCE, sample.VINTAGE).status == "loaded"
    path = _list(mirror)
    path.write_bytes(mutate(path.read_bytes()))
    outcome = assert_refused_and_nothing_lost(home, mirror, SOURCE, sample.VINTAGE, *expected)
    assert SOURCE in outcome.detail and sample.FILE_NAME in outcome.detail


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


BROKEN_GEOJSON = [
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


@pytest.mark.parametrize(("mutate", "expected"), BROKEN_GEOJSON)
def test_broken_geojson_files_are_refused(tmp_path, mirror, mutate, expected):
    home = DataHome(tmp_path / "home").ensure()
    vintage = sample.GEOJSON_VINTAGE
    assert load_from_folder(home, mirror, SOURCE, vintage).status == "loaded"
    path = _geojson(mirror)
    path.write_bytes(mutate(path.read_bytes()))
    assert_refused_and_nothing_lost(home, mirror, SOURCE, vintage, sample.GEOJSON_FILE_NAME, *expected)


# ------------------------------------------------------------------------------ staging


@pytest.mark.integration
def test_staging_keeps_valid_codes_only_and_the_coordinates(tmp_path, mirror, territory):
    # A code that lost its leading zero is repaired, a malformed one is left out (as 2B14 in
    # the 2020 file): insee_com is not checked at loading since points are located from
    # their coordinates.
    path = _list(mirror)
    frame = pl.read_csv(path, infer_schema=False)
    codes = frame["insee_com"].to_list()
    frame = frame.with_columns(pl.Series("insee_com", ["1033", "2B14", *codes[2:]]))
    path.write_bytes(frame.write_csv().encode("utf-8"))
    home = DataHome(tmp_path / "home").ensure()
    for vintage in (sample.VINTAGE, sample.GEOJSON_VINTAGE):
        assert load_from_folder(home, mirror, SOURCE, vintage).status == "loaded"

    result = dbt_build(home.work_db, tmp_path, f"path:models/staging/{SOURCE}")
    assert result.returncode == 0 and "WARN=0" in result.stdout, result.stdout[-3000:]
    expected = sample.points(territory)
    by_vintage = {}
    for vintage in (sample.VINTAGE, sample.GEOJSON_VINTAGE):
        by_vintage[vintage] = query(
            home.work_db,
            "select point_id, commune_code, commune_code_published, longitude, latitude, site_type, is_itinerant "
            f"from staging.stg_anct_france_services__points where vintage = '{vintage}' order by point_id::integer",
        )
    rows = by_vintage[sample.VINTAGE]
    assert len(rows) == len(expected)
    assert rows[0][1:3] == ("01033", "1033") and rows[1][1:3] == (None, "2B14")
    for vintage, rows in by_vintage.items():
        for row, point in zip(rows, expected):
            assert (row[3], row[4]) == (point["longitude"], point["latitude"])
            assert row[5] == point["type_fs"]  # the same site type from type_fs or from categorie
            assert row[6] == (point["format_fs"] == "Itinérante"), vintage
