"""sncf_stations: SNCF's station list, read in its official `;` layout (sample only: no real file here)."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import duckdb
import pytest
from source_checks import dbt_build, assert_refused_and_nothing_lost, load_from_folder

from pipelines.sample import build_territory
from pipelines.sample.sncf_stations import HEADER, lambert93, sample_stations
from pipelines.sample.sncf_stations import write as write_sample_stations
from pipelines.settings import DataHome
from pipelines.sources.readers.sncf_stations import read

SOURCE = "sncf_stations"
VINTAGE = "2026"
FILE = "liste-des-gares.csv"
PROJECT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def sample_mirror(tmp_path_factory) -> Path:
    """This source's sample file as a mirror tree (written alone, as write_sample writes it)."""
    target = tmp_path_factory.mktemp("stations_mirror")
    assert write_sample_stations(build_territory(), target) == [VINTAGE]
    return target


@pytest.fixture(scope="module")
def loaded_home(tmp_path_factory, sample_mirror) -> DataHome:
    """The sample vintage loaded once; refused variants must leave it as it is."""
    home = DataHome(tmp_path_factory.mktemp("stations_home")).ensure()
    outcome = load_from_folder(home, sample_mirror, SOURCE, VINTAGE)
    assert outcome.status == "loaded", outcome.detail
    return home


def _rows(home: DataHome, sql: str) -> list[tuple]:
    with duckdb.connect(str(home.work_db), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_sample_is_in_the_official_layout(sample_mirror):
    raw = (sample_mirror / SOURCE / VINTAGE / FILE).read_bytes()
    text = raw.decode("utf-8")
    assert text.splitlines()[0] == ";".join(HEADER)
    rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    assert all(len(r["CODE_UIC"]) == 8 and r["CODE_UIC"].startswith("87") for r in rows)
    assert all(r["COMMUNE"] == r["COMMUNE"].upper() for r in rows)
    # Lambert 93 agrees with DuckDB spatial's EPSG:2154.
    con = duckdb.connect()
    con.execute("load spatial")
    for row in rows:
        x, y = con.execute(
            "select st_x(p), st_y(p) from (select st_transform(st_point(?, ?), 'EPSG:4326', 'EPSG:2154') as p)",
            [float(row["Y_WGS84"]), float(row["X_WGS84"])],
        ).fetchone()
        assert float(row["X_L93"]) == pytest.approx(x, abs=0.1) and float(row["Y_L93"]) == pytest.approx(y, abs=0.1)
    assert lambert93(2.3488, 48.8534) == pytest.approx((652_216.6, 6_861_681.5), abs=0.1)


def test_sample_bytes_are_the_same_on_every_write(tmp_path, sample_mirror):
    write_sample_stations(build_territory(), tmp_path)
    assert (tmp_path / SOURCE / VINTAGE / FILE).read_bytes() == (sample_mirror / SOURCE / VINTAGE / FILE).read_bytes()
    other = sample_stations(build_territory(7))  # any seed gives a complete list
    assert {s.line for s in other} == {"830000", "064000", "790000"}


def test_sample_loads_every_station_and_tells_its_story(loaded_home):
    stations = sample_stations(build_territory())
    assert _rows(loaded_home, 'select count(*) from raw."sncf_stations__stations"') == [(len(stations),)]
    table = 'raw."sncf_stations__stations"'
    by_department = dict(_rows(loaded_home, f"select DEPARTEMEN, count(*) from {table} group by 1"))
    assert set(by_department) == {"RHONE", "SAONE-ET-LOIRE"}  # none in Corse-du-Sud or La Réunion
    city = _rows(loaded_home, f"select LIBELLE, VOYAGEURS from {table} where COMMUNE = 'TALOST' order by 1")
    assert city == [("Talost-Centre", "O"), ("Talost-Sud", "O")]
    freight_only = _rows(loaded_home, f"select DEPARTEMEN from {table} where VOYAGEURS = 'N'")
    assert freight_only == [("SAONE-ET-LOIRE",)]
    assert _rows(loaded_home, f"select count(*) from {table} where CODE_LIGNE = '064000'") == [(2,)]  # the branch


def test_the_export_with_field_names_reads_the_same(tmp_path, sample_mirror):
    original = sample_mirror / SOURCE / VINTAGE / FILE
    lower = tmp_path / FILE
    header, rest = original.read_text("utf-8").split("\n", 1)
    lower.write_text(header.lower() + "\n" + rest, encoding="utf-8")
    expected, _ = read([original], VINTAGE)["stations"]
    frame, _ = read([lower], VINTAGE)["stations"]
    assert frame.equals(expected) and "CODE_UIC" in frame.columns


def _append_row(text: str, **changes: str) -> str:
    """The file with a copy of its first station appended, some fields changed."""
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    row = dict(zip(rows[0], rows[1])) | changes
    extra = io.StringIO()
    csv.writer(extra, delimiter=";", lineterminator="\n").writerow([row[c] for c in rows[0]])
    return text + extra.getvalue()


def _drop_column(text: str, name: str) -> str:
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    position = rows[0].index(name)
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="\n").writerows([r[:position] + r[position + 1:] for r in rows])
    return out.getvalue()


BROKEN = [
    (lambda t: _drop_column(t, "VOYAGEURS"), "utf-8", ("column VOYAGEURS is missing",)),
    (lambda t: t.replace("LIBELLE", "NOM_GARE", 1), "utf-8", ("column LIBELLE is missing", "NOM_GARE")),
    (lambda t: t.replace(";064000;", ";64000;"), "utf-8", ("CODE_LIGNE", "6 digits", "'64000'", "leading zeros")),
    (lambda t: _append_row(t, CODE_UIC="8700123", CODE_LIGNE="830000"), "utf-8", ("CODE_UIC", "8 digits", "'8700123'")),
    (lambda t: t, "latin-1", ("cannot be decoded as utf-8",)),
    (lambda t: t.replace(";", ","), "utf-8", ("separated by ';'",)),
    (lambda t: _append_row(t, VOYAGEURS="Oui", CODE_UIC="87999999"), "utf-8", ("column VOYAGEURS", "'Oui'")),
    (lambda t: "", "utf-8", ("empty",)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("mutate", "encoding", "expected"),
    BROKEN,
    ids=["missing-column", "renamed-column", "lost-leading-zero", "short-uic-code", "latin-1",
         "comma-separated", "value-outside-set", "empty-file"],
)  # fmt: skip
def test_broken_files_are_refused_and_nothing_is_lost(tmp_path, sample_mirror, loaded_home, mutate, encoding, expected):
    broken = tmp_path / "mirror"
    shutil.copytree(sample_mirror, broken)
    path = broken / SOURCE / VINTAGE / FILE
    path.write_bytes(mutate(path.read_text("utf-8")).encode(encoding))
    assert_refused_and_nothing_lost(loaded_home, broken, SOURCE, VINTAGE, FILE, *expected)


@pytest.mark.integration
def test_staging_model_types_the_sample(tmp_path, loaded_home):
    database = tmp_path / "warehouse.duckdb"
    shutil.copy(loaded_home.work_db, database)
    result = dbt_build(database, tmp_path, "path:models/staging/sncf_stations")
    assert result.returncode == 0, result.stdout[-3000:]
    with duckdb.connect(str(database), read_only=True) as con:
        rows = con.execute(
            "select station_name, commune_name, is_passenger, is_freight, longitude, latitude, x_l93 "
            "from staging.stg_sncf_stations__stations order by uic_code"
        ).fetchall()  # fmt: skip
    stations = {s.name: s for s in sample_stations(build_territory())}
    assert len(rows) == len(stations)
    for name, commune, passenger, freight, lon, lat, x in rows:
        station = stations[name]
        assert (passenger, freight) == (station.passengers, station.freight)
        assert (lon, lat) == pytest.approx((station.lon, station.lat))
        assert x == pytest.approx(lambert93(station.lon, station.lat)[0], abs=0.1)
        assert commune.isupper()
