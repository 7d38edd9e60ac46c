"""anct_littoral: the communes of the loi Littoral and why (sea, estuary, lake)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import duckdb
import openpyxl
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from byte_draws import cut_short
from openpyxl import Workbook
from source_checks import assert_refused_and_nothing_lost, dbt_build, load_from_folder

from pipelines.sample import anct_littoral as sample
from pipelines.sample import build_territory
from pipelines.settings import DataHome
from pipelines.sources.catalogue import get_source
from pipelines.sources.errors import SourceError
from pipelines.sources.readers.anct_littoral import read
from pipelines.sources.readers.common import IncompleteVintage, ParseError

SOURCE = "anct_littoral"


def query(database: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.fixture(scope="module")
def territory():
    return build_territory()


@pytest.fixture(scope="module")
def sample_folder(tmp_path_factory, territory) -> Path:
    """The source's sample mirror, written once for the module (copy it before changing it)."""
    folder = tmp_path_factory.mktemp("anct_littoral_sample")
    assert sample.write(territory, folder) == [sample.VINTAGE]
    return folder


@pytest.fixture
def mirror(tmp_path, sample_folder) -> Path:
    target = tmp_path / "mirror"
    shutil.copytree(sample_folder, target)
    return target


def workbook_path(mirror: Path) -> Path:
    return mirror / SOURCE / sample.VINTAGE / sample.FILE_NAME


def edit_sheet(path: Path, change) -> None:
    """Open the workbook, apply change(sheet) and save it in place."""
    book = openpyxl.load_workbook(path)
    change(book[sample.SHEET])
    book.save(path)


# ------------------------------------------------------------------------------ sample


def test_catalogue_and_sample_agree(sample_folder):
    assert [f.name for f in get_source(SOURCE).vintage(sample.VINTAGE).files] == [sample.FILE_NAME]
    sheet = openpyxl.load_workbook(workbook_path(sample_folder))[sample.SHEET]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0].startswith("Communes littorales") and rows[2] == sample.HEADER


def test_the_story_of_the_sample(territory):
    listed = sample.classifications(territory)
    communes = {c.code: c for c in territory.geography(sample.GEOGRAPHY).actuelles}
    by_departement = {d: {code for code in listed if communes[code].departement == d} for d in ("2A", "69", "71", "83", "974")}
    assert by_departement["69"] == by_departement["71"] == set()
    assert by_departement["2A"] and by_departement["974"] and "2A004" in listed
    var = [c for c in communes.values() if c.departement == "83"]
    coast = {c.code for c in var if sample.on_coast(territory, c)}
    lake = max(var, key=lambda c: c.lat).code
    assert coast and coast | {lake} < {c.code for c in var}  # 83 has a coast and a hinterland
    assert {code for code, label in listed.items() if label == "Mer" and code.startswith("83")} == coast
    assert listed[lake] == "Lac"
    # islands: the outer ring of the ellipse of the box
    box = next(d.bounds for d in territory.departements if d.code == "974")
    ring = {c.code for c in communes.values() if c.departement == "974" and sample._ring(c, box) >= sample.RING}
    assert by_departement["974"] == ring


def test_sample_loads_through_the_real_path(tmp_path, mirror, territory):
    home = DataHome(tmp_path / "home").ensure()
    outcome = load_from_folder(home, mirror, SOURCE, sample.VINTAGE)
    assert outcome.status == "loaded", outcome.detail
    assert outcome.rows == {"communes": len(sample.classifications(territory))}


@pytest.mark.integration
def test_the_story_comes_out_of_staging(tmp_path, mirror, territory):
    home = DataHome(tmp_path / "home").ensure()
    assert load_from_folder(home, mirror, SOURCE, sample.VINTAGE).status == "loaded"
    result = dbt_build(home.work_db, tmp_path, f"path:models/staging/{SOURCE}")
    assert result.returncode == 0 and "WARN=0" in result.stdout, result.stdout[-3000:]
    staged = query(
        home.work_db,
        "select commune_code, classification, is_coastal, is_seaside from staging.stg_anct_littoral__communes "
        f"where vintage = '{sample.VINTAGE}' order by commune_code",
    )
    english = {"Mer": ("sea", True, True), "Lac": ("lake", True, False)}
    assert staged == [(code, *english[label]) for code, label in sample.classifications(territory).items()]


@pytest.mark.integration
def test_an_unknown_label_is_kept_and_flagged(tmp_path, mirror):
    edit_sheet(workbook_path(mirror), set_cell(4, 3, "Delta"))
    home = DataHome(tmp_path / "home").ensure()
    assert load_from_folder(home, mirror, SOURCE, sample.VINTAGE).status == "loaded"
    result = dbt_build(home.work_db, tmp_path, f"path:models/staging/{SOURCE}")
    assert result.returncode == 0 and "WARN=1" in result.stdout, result.stdout[-3000:]
    assert query(home.work_db, "select classification_label, classification, is_coastal from "
                               "staging.stg_anct_littoral__communes where classification is null") == [("Delta", None, None)]  # fmt: skip


def test_codes_stored_as_numbers_get_their_leading_zero_back(tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.title = "Périmètre"
    sheet.append(["Communes littorales"])
    sheet.append([None, "INSEE_COM", "NOM_COM", "CLASSEMENT"])
    sheet.append([None, 6088, "Nice", "Mer"])
    sheet.append([None, "2A004", "Ajaccio", "Mer"])
    sheet.append([None, 74010.0, "Annecy", "Lac"])
    path = tmp_path / "littoral.xlsx"
    book.save(path)
    frame, _ = read([path], "2022")["communes"]
    assert frame.rows() == [("06088", "Nice", "Mer"), ("2A004", "Ajaccio", "Mer"), ("74010", "Annecy", "Lac")]


# ------------------------------------------------------------------------------ broken files

def set_cell(row: int, column: int, value):
    """A change of one cell of the sheet (None empties it)."""

    def change(sheet):
        sheet.cell(row=row, column=column).value = value

    return change


BROKEN = [
    pytest.param(set_cell(3, 1, "CODE_COMMUNE"), ["no header row with a column INSEE_COM"], id="renamed-code-column"),
    pytest.param(set_cell(3, 3, "TYPE"), ["column CLASSEMENT is missing"], id="renamed-class"),
    pytest.param(set_cell(4, 3, None), ["column CLASSEMENT", "empty"], id="empty-class"),
    pytest.param(lambda s: set_cell(5, 1, s.cell(row=4, column=1).value)(s), ["rows share their key with another row"],
                 id="duplicated-commune"),
    pytest.param(set_cell(4, 1, "2A04"), ["INSEE_COM"], id="malformed-code"),
]  # fmt: skip


@pytest.mark.parametrize(("change", "expected"), BROKEN)
def test_broken_workbooks_are_refused_and_nothing_is_lost(tmp_path, mirror, change, expected):
    home = DataHome(tmp_path / "home").ensure()
    assert load_from_folder(home, mirror, SOURCE, sample.VINTAGE).status == "loaded"
    edit_sheet(workbook_path(mirror), change)
    outcome = assert_refused_and_nothing_lost(home, mirror, SOURCE, sample.VINTAGE, *expected)
    assert SOURCE in outcome.detail and sample.FILE_NAME in outcome.detail


@pytest.mark.parametrize(("data", "expected"), [(b"", "empty"), (b"INSEE_COM;CLASSEMENT\n01004;Mer\n", "not an Excel")])
def test_a_file_that_is_no_workbook_is_refused(tmp_path, mirror, data, expected):
    home = DataHome(tmp_path / "home").ensure()
    assert load_from_folder(home, mirror, SOURCE, sample.VINTAGE).status == "loaded"
    workbook_path(mirror).write_bytes(data)
    assert_refused_and_nothing_lost(home, mirror, SOURCE, sample.VINTAGE, sample.FILE_NAME)


def test_no_file_is_an_incomplete_vintage():
    with pytest.raises(IncompleteVintage, match=r"^anct_littoral 2022: no loi Littoral workbook"):
        read([], "2022")


# ------------------------------------------------------------------------------ reader properties

CODES = st.one_of(
    st.sampled_from(["06088", "2A004", "2B033", "97411", "29019"]),
    st.builds("{:02d}{:03d}".format, st.integers(1, 95).filter(lambda n: n != 20), st.integers(1, 999)),
)
LABELS = st.sampled_from(["Mer", "Estuaire", "Lac"])
NAMES = st.text("abcdefghijklmnopqrstuvwxyzÉéèâçô' -", min_size=1, max_size=12).map(str.strip).filter(bool)
ROWS = st.lists(st.tuples(CODES, NAMES, LABELS), min_size=1, max_size=6, unique_by=lambda r: r[0])
HEADER = ("INSEE_COM", "NOM_COM", "CLASSEMENT")


def write_workbook(rows, folder: Path, *, titles: int, offset: int, numbers: bool, header=HEADER, sheet="Perimetre") -> Path:
    book = Workbook()
    first = book.active
    first.title = "Lisez-moi"
    first.append(["Documentation"])
    data = book.create_sheet(sheet)
    for _ in range(titles):
        data.append(["Titre"])
    data.append([None] * offset + list(header))
    for code, name, label in rows:
        cell = int(code) if numbers and code.isdigit() else code
        data.append([None] * offset + [cell, name, label])
    path = folder / "littoral.xlsx"
    book.save(path)
    return path


def read_or_refusal(path: Path):
    try:
        frame, found = read([path], "2022")["communes"]
    except (ParseError, SourceError) as exc:
        assert path.name in str(exc), f"the refusal does not name the file: {exc}"
        return exc
    assert found == path and all(dtype == pl.Utf8 for dtype in frame.schema.values()), frame.schema
    return frame


def run(test, examples: int) -> None:
    settings(max_examples=examples, deadline=None, database=None,
             suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])(given(data=st.data())(test))()  # fmt: skip


LAYOUT = {"titles": st.integers(0, 4), "offset": st.integers(0, 2), "numbers": st.booleans()}


def test_well_formed_workbooks_read_back_as_written():
    def prop(data):
        rows, layout = data.draw(ROWS), {k: data.draw(v) for k, v in LAYOUT.items()}
        with tempfile.TemporaryDirectory() as tmp:
            frame = read_or_refusal(write_workbook(rows, Path(tmp), **layout))
            assert isinstance(frame, pl.DataFrame), frame
            assert frame.rows() == rows  # codes whole, even stored as numbers

    run(prop, 25)


def test_broken_workbooks_give_their_values_or_a_clear_refusal():
    def prop(data):
        rows, layout = data.draw(ROWS), {k: data.draw(v) for k, v in LAYOUT.items()}
        how = data.draw(st.sampled_from(["empty", "random", "truncated", "drop", "rename", "other-sheet"]))
        column = data.draw(st.sampled_from(["INSEE_COM", "CLASSEMENT"]))
        with tempfile.TemporaryDirectory() as tmp:
            if how in ("drop", "rename"):
                header = tuple(("Z9_" + c if how == "rename" else None) if c == column else c for c in HEADER)
                path = write_workbook(rows, Path(tmp), header=header, **layout)
            elif how == "other-sheet":  # no sheet called Perimetre: the first sheet is read, and has no list
                path = write_workbook(rows, Path(tmp), sheet="Communes", **layout)
            else:
                path = write_workbook(rows, Path(tmp), **layout)
                original = path.read_bytes()
                broken = {"empty": b"", "random": data.draw(st.binary(min_size=1, max_size=300)),
                          "truncated": cut_short(data, original)}[how]  # fmt: skip
                path.write_bytes(broken)
            outcome = read_or_refusal(path)
            assert isinstance(outcome, Exception), f"a workbook broken by '{how}' was read: {outcome}"
            if how in ("drop", "rename", "other-sheet"):
                assert isinstance(outcome, ParseError), outcome
                assert (column if how != "other-sheet" else "INSEE_COM") in str(outcome), outcome

    run(prop, 40)
