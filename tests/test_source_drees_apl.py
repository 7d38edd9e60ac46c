"""DREES APL to general practitioners: the reader on the real workbook, the sample workbook,
broken files refused without losing anything, and the staging model."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import duckdb
import openpyxl
import polars as pl
import pytest
from source_checks import dbt_build, assert_refused_and_nothing_lost, load_from_folder

from pipelines.warehouse.ingestion import frame_spec
from pipelines.quality import validate_frame
from pipelines.sample import drees_apl as sample
from pipelines.sample.territory import build_territory
from pipelines.settings import DataHome
from pipelines.sources.catalogue import get_source
from pipelines.sources.readers import IncompleteVintage, ParseError
from pipelines.sources.readers.drees_apl import read

SOURCE = "drees_apl"
REAL_FILE = Path("apl") / "apl_generalistes.xlsx"
CODE, NAME = "Code commune INSEE", "Commune"
APL, APL_UNDER_65 = "APL aux médecins généralistes", "APL aux médecins généralistes de moins de 65 ans"
# The wording of the 2024 edition, which the sample writes; loaded under APL_UNDER_65.
APL_65_OR_LESS = "APL aux médecins généralistes de 65 ans ou moins"
APL_62_OR_LESS, APL_60_OR_LESS = (f"APL aux médecins généralistes de {age} ans ou moins" for age in (62, 60))
WHOLE_CITIES = ["75056", "69123", "13055"]
DBT_PROJECT = Path(__file__).resolve().parent.parent / "dbt_project"


def by_code(frame: pl.DataFrame) -> dict[str, dict[str, str]]:
    return {row[CODE]: row for row in frame.iter_rows(named=True)}


def apl_values(frame: pl.DataFrame, column: str = APL) -> dict[str, float]:
    """The published values of a column, by commune (communes without one left out)."""
    known = frame.filter(pl.col(column).is_not_null())
    return dict(zip(known[CODE], known[column].cast(pl.Float64)))


# ---------------------------------------------------------------- the real workbook


@pytest.fixture(scope="module")
def real_frames(real_data) -> dict[str, pl.DataFrame]:
    path = real_data / REAL_FILE
    return {vintage: read([path], vintage)["communes"][0] for vintage in ("2022", "2023")}


@pytest.mark.real_data
def test_real_row_counts_and_columns(real_frames):
    assert real_frames["2023"].height == 34_954
    assert real_frames["2022"].height == 34_964
    for frame in real_frames.values():
        assert frame.columns == [CODE, NAME, APL, APL_UNDER_65, "POPULATION_STANDARDISEE", "POPULATION_TOTALE",
                                 "POPULATION_YEAR"]
        assert all(dtype == pl.Utf8 for dtype in frame.dtypes)
    assert set(real_frames["2023"]["POPULATION_YEAR"]) == {"2021"}
    assert set(real_frames["2022"]["POPULATION_YEAR"]) == {"2020"}


@pytest.mark.real_data
def test_real_known_values(real_frames):
    rows = by_code(real_frames["2023"])
    assert rows["71153"] == {
        CODE: "71153", NAME: "Le Creusot", APL: "2.1", APL_UNDER_65: "1.985",
        "POPULATION_STANDARDISEE": "22451.875", "POPULATION_TOTALE": "20731", "POPULATION_YEAR": "2021",
    }
    # The first row keeps its leading zero and its values as DREES wrote them.
    first = ("01001", "L'Abergement-Clémenciat", "1.942", "1.881", "838.154", "832", "2021")
    assert real_frames["2023"].row(0) == first
    assert {code: rows[code][APL] for code in ("57132", "57123", "23001", "75101", "2A004", "97411")} == {
        "57132": "4.725", "57123": "5.325", "23001": "3.901", "75101": "6.545", "2A004": "3.901", "97411": "4.886",
    }
    # Excel keeps 0.006 as 6.0000000000000001E-3: the reader gives it back as a plain number.
    assert (rows["01155"][APL], rows["01204"][APL_UNDER_65]) == ("0.006", "0.084")
    assert by_code(real_frames["2022"])["71153"][APL] == "2.287"


@pytest.mark.real_data
def test_real_paris_lyon_marseille_by_arrondissement(real_frames):
    for frame in real_frames.values():
        codes = set(frame[CODE])
        assert {f"751{n:02d}" for n in range(1, 21)} <= codes
        assert {f"6938{n}" for n in range(1, 10)} <= codes
        assert {f"132{n:02d}" for n in range(1, 17)} <= codes
        assert codes.isdisjoint(WHOLE_CITIES)
        assert by_code(frame)["69389"][NAME] == "Lyon 9e Arrondissement"


@pytest.mark.real_data
@pytest.mark.parametrize("vintage", ["2022", "2023"])
def test_real_sheets_pass_the_national_checks(real_frames, vintage):
    frame = real_frames[vintage]
    spec = frame_spec(get_source(SOURCE), "communes", frame, sample=False)
    report = validate_frame(frame.to_pandas(), spec, source=SOURCE, vintage=vintage,
                            file_name=REAL_FILE.name, entity="communes")
    assert report.passed, report.summary()


@pytest.mark.real_data
def test_real_workbook_has_no_apl_2024(real_data):
    with pytest.raises(ParseError, match=r"apl_generalistes.xlsx: the workbook has no sheet 'APL 2024' "
                                         r"\(sheets: Paramètres, APL 2022, APL 2023\)"):
        read([real_data / REAL_FILE], "2024")


@pytest.mark.real_data
def test_sample_layout_matches_the_real_workbook(real_data, sample_dir):
    real = openpyxl.load_workbook(real_data / REAL_FILE, read_only=True)
    ours = openpyxl.load_workbook(sample_dir / SOURCE / "2023" / sample.FILE_NAME, read_only=True)
    assert ours.sheetnames == real.sheetnames
    for sheet in ("APL 2022", "APL 2023"):
        real_top = list(real[sheet].iter_rows(min_row=1, max_row=11, max_col=6, values_only=True))
        our_top = list(ours[sheet].iter_rows(min_row=1, max_row=11, max_col=6, values_only=True))
        # Titles, header (row 9) and units (row 10) are the same; row 11 is the first commune.
        assert [row[0] for row in our_top[:5]] == [row[0] for row in real_top[:5]]
        # The real workbook is the 2023 edition; the sample writes the 2024 wording of the
        # under-65 column and its two new columns (62 and 60 or less) after it.
        real_header, our_header = real_top[8], next(ours[sheet].iter_rows(min_row=9, max_row=9, values_only=True))
        assert real_header[3] == APL_UNDER_65
        assert list(our_header) == [*real_header[:3], APL_65_OR_LESS, APL_62_OR_LESS, APL_60_OR_LESS, *real_header[4:]]
        assert our_top[9][:4] == real_top[9][:4]
        assert [type(v) for v in our_top[10][:4]] == [type(v) for v in real_top[10][:4]]
    real.close()
    ours.close()


# ---------------------------------------------------------------- the sample workbook


@pytest.fixture(scope="module")
def territory():
    return build_territory()


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory, territory) -> Path:
    folder = tmp_path_factory.mktemp("apl_mirror")
    assert sample.write(territory, folder) == ["2022", "2023"]
    return folder


@pytest.fixture(scope="module")
def sample_frames(sample_dir) -> dict[str, pl.DataFrame]:
    return {v: read([sample_dir / SOURCE / v / sample.FILE_NAME], v)["communes"][0] for v in ("2022", "2023")}


def test_sample_files_match_the_catalogue_and_never_change(sample_dir, territory, tmp_path):
    source = get_source(SOURCE)
    for vintage in ("2022", "2023"):
        assert [f.name for f in source.vintage(vintage).files] == [sample.FILE_NAME]
        assert (sample_dir / SOURCE / vintage / sample.FILE_NAME).is_file()
    sample.write(territory, tmp_path)

    def digest(root: Path) -> str:
        return hashlib.sha256((root / SOURCE / "2023" / sample.FILE_NAME).read_bytes()).hexdigest()

    assert digest(tmp_path) == digest(sample_dir)
    sheets = openpyxl.load_workbook(sample_dir / SOURCE / "2022" / sample.FILE_NAME, read_only=True).sheetnames
    assert sheets == ["Paramètres", "APL 2022", "APL 2023"]


def test_sample_lists_the_communes_with_the_city_by_arrondissement(sample_frames, territory):
    geography = territory.geography(sample.GEOGRAPHY_VINTAGE)
    expected = {c.code for c in geography.actuelles} - {"69123"} | {f"6938{n}" for n in range(1, 10)}
    for vintage, frame in sample_frames.items():
        assert set(frame[CODE]) == expected
        assert frame.height == len(geography.actuelles) - 1 + 9
        assert frame[CODE].str.len_chars().eq(5).all()
        assert set(frame["POPULATION_YEAR"]) == {str(int(vintage) - 2)}
    renamed = next(m for m in territory.movements if m.mod == 10)
    assert by_code(sample_frames["2023"])[renamed.code_before][NAME] == renamed.name_before


def test_sample_story(sample_frames, territory):
    story = sample.story(territory)
    apl_2022, apl_2023 = apl_values(sample_frames["2022"]), apl_values(sample_frames["2023"])
    under_65 = apl_values(sample_frames["2023"], APL_65_OR_LESS)
    under_60 = apl_values(sample_frames["2023"], APL_60_OR_LESS)
    assert len(story["deserts"]) == 5
    assert all(apl_2022[c] < 2.5 and apl_2023[c] < 2.5 for c in story["deserts"])
    (new_desert,) = story["new_desert"]
    assert (apl_2022[new_desert], apl_2023[new_desert]) == (2.8, 2.2)
    assert all(apl_2023[c] >= 2.5 > under_65[c] for c in story["retirement_cliff"])
    assert [apl_2023[c] for c in story["no_gp"]] == [0.0]
    assert {f"6938{n}" for n in range(1, 10)} <= set(story["well_served"])
    assert all(apl_2022[c] > 4 and apl_2023[c] > 4 for c in story["well_served"])
    below = {code for code, value in apl_2023.items() if value < 2.5}
    assert below == {*story["deserts"], new_desert, *story["no_gp"]}
    # Absent values: no APL at all for one commune, nobody to weigh for another.
    (not_published,) = story["not_published"]
    (nobody,) = story["nobody_to_weigh"]
    for frame in sample_frames.values():
        row = by_code(frame)[not_published]
        assert row[APL] is None and row[APL_65_OR_LESS] is None and row["POPULATION_TOTALE"] not in (None, "0")
        row = by_code(frame)[nobody]
        assert float(row[APL]) > 2.5 and row["POPULATION_STANDARDISEE"] == "0" and row["POPULATION_TOTALE"] == "0"
    assert all(under_60[c] <= under_65[c] <= apl_2023[c] for c in apl_2023)


def test_sample_loads_and_counts_match_the_territory(tmp_path, sample_dir, sample_frames):
    home = DataHome(tmp_path / "home").ensure()
    for vintage in ("2022", "2023"):
        outcome = load_from_folder(home, sample_dir, SOURCE, vintage)
        assert outcome.status == "loaded", outcome.detail
        assert outcome.rows == {"communes": sample_frames[vintage].height}
    with duckdb.connect(str(home.work_db), read_only=True) as con:
        rows = con.execute(
            'select _vintage, count(*), min(POPULATION_YEAR) from raw."drees_apl__communes" group by 1 order by 1'
        ).fetchall()
        # The 2024 wording is loaded under the catalogue's name of the column.
        columns = [r[0] for r in con.execute('describe raw."drees_apl__communes"').fetchall()]
        under_65 = con.execute(
            f'select count("{APL_UNDER_65}"), count("{APL_60_OR_LESS}") from raw."drees_apl__communes"'
        ).fetchone()
    assert rows == [("2022", 278, "2020"), ("2023", 278, "2021")]
    assert under_65 == (554, 554) and APL_65_OR_LESS not in columns  # one commune has no APL in both years


def test_reader_without_a_snapshot_is_incomplete():
    with pytest.raises(IncompleteVintage, match="drees_apl 2023: no snapshot"):
        read([], "2023")


# ---------------------------------------------------------------- broken files


def _broken_copy(sample_dir: Path, tmp_path: Path) -> Path:
    """A mirror holding a copy of the 2023 sample workbook, to be broken by the test."""
    folder = tmp_path / "broken"
    target = folder / SOURCE / "2023" / sample.FILE_NAME
    target.parent.mkdir(parents=True)
    shutil.copy(sample_dir / SOURCE / "2023" / sample.FILE_NAME, target)
    return folder


def _edit_sheet(folder: Path, edit) -> None:
    path = folder / SOURCE / "2023" / sample.FILE_NAME
    book = openpyxl.load_workbook(path)
    edit(book)
    book.save(path)


def _refused(tmp_path, sample_dir, folder, *fragments) -> str:
    home = DataHome(tmp_path / "home").ensure()
    assert load_from_folder(home, sample_dir, SOURCE, "2023").status == "loaded"
    outcome = assert_refused_and_nothing_lost(home, folder, SOURCE, "2023", sample.FILE_NAME, *fragments)
    return outcome.detail


def test_missing_column_is_refused(tmp_path, sample_dir):
    folder = _broken_copy(sample_dir, tmp_path)
    _edit_sheet(folder, lambda book: book["APL 2023"].delete_cols(4))
    _refused(
        tmp_path, sample_dir, folder,
        f"column '{APL_UNDER_65}' is missing; it is accepted under any of these names: '{APL_UNDER_65}'; '{APL_65_OR_LESS}'",
    )


def test_renamed_code_column_is_refused(tmp_path, sample_dir):
    folder = _broken_copy(sample_dir, tmp_path)

    def rename(book):
        book["APL 2023"]["A9"] = "Code INSEE"

    _edit_sheet(folder, rename)
    _refused(tmp_path, sample_dir, folder, f"column {CODE} is missing", "'Code INSEE'")


def test_renamed_population_column_is_refused(tmp_path, sample_dir):
    folder = _broken_copy(sample_dir, tmp_path)

    def rename(book):
        book["APL 2023"]["H9"] = "Population 2021"

    _edit_sheet(folder, rename)
    _refused(tmp_path, sample_dir, folder, "(sheet 'APL 2023', header row 9): no column 'Population totale <year>'")


def test_codes_that_lost_their_leading_zero_are_refused(tmp_path, sample_dir):
    folder = _broken_copy(sample_dir, tmp_path)
    # A code typed as a number, as a spreadsheet does with 01001.
    row = [1001, "L'Abergement-Clémenciat", 1.9, 1.8, 838.2, 832]
    _edit_sheet(folder, lambda book: book["APL 2023"].append(row))
    _refused(tmp_path, sample_dir, folder, "'1001'", "leading zeros lost?")


def test_decimal_comma_text_is_refused(tmp_path, sample_dir):
    folder = _broken_copy(sample_dir, tmp_path)

    def as_text(book):
        book["APL 2023"]["C11"] = "2,1"

    _edit_sheet(folder, as_text)
    _refused(tmp_path, sample_dir, folder, f"column {APL}", "'2,1'", "decimal comma")


def test_latin1_csv_instead_of_the_workbook_is_refused(tmp_path, sample_dir, sample_frames):
    folder = _broken_copy(sample_dir, tmp_path)
    path = folder / SOURCE / "2023" / sample.FILE_NAME
    path.write_bytes(sample_frames["2023"].write_csv(separator=";").encode("latin-1"))
    _refused(tmp_path, sample_dir, folder, "not a valid Excel (.xlsx) file")
    # Handed to the reader directly (e.g. by a mirror that skips the content check).
    with pytest.raises(ParseError, match=r"drees_apl 2023 .*: not an Excel \.xlsx workbook \(not a zip archive"):
        read([path], "2023")


def test_empty_file_is_refused(tmp_path, sample_dir):
    folder = _broken_copy(sample_dir, tmp_path)
    path = folder / SOURCE / "2023" / sample.FILE_NAME
    path.write_bytes(b"")
    _refused(tmp_path, sample_dir, folder, "the file is empty")
    with pytest.raises(ParseError, match=f"drees_apl 2023 {sample.FILE_NAME}: the file is empty"):
        read([path], "2023")


def test_workbook_without_the_vintage_sheet_is_refused(tmp_path, sample_dir):
    folder = _broken_copy(sample_dir, tmp_path)
    _edit_sheet(folder, lambda book: book.remove(book["APL 2023"]))
    _refused(tmp_path, sample_dir, folder, "no sheet 'APL 2023' (sheets: Paramètres, APL 2022)")


def test_duplicated_commune_is_refused(tmp_path, sample_dir, sample_frames):
    folder = _broken_copy(sample_dir, tmp_path)
    first = sample_frames["2023"].row(0)

    def duplicate(book):
        book["APL 2023"].append([first[0], first[1], 3.0, 2.5, 100.0, 100])

    _edit_sheet(folder, duplicate)
    _refused(tmp_path, sample_dir, folder, f"key {CODE}", repr(first[0]))


# ---------------------------------------------------------------- staging


@pytest.mark.integration
def test_staging_model_on_the_sample(tmp_path, sample_dir):
    home = DataHome(tmp_path / "home").ensure()
    for vintage in ("2022", "2023"):
        assert load_from_folder(home, sample_dir, SOURCE, vintage).status == "loaded"
    result = dbt_build(home.work_db, tmp_path, f"path:models/staging/{SOURCE}")
    assert result.returncode == 0, result.stdout[-3000:]
    with duckdb.connect(str(home.work_db), read_only=True) as con:
        types = dict(con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'staging' and table_name = 'stg_drees_apl__communes'"
        ).fetchall())
        lyon = con.execute(
            "select count(*), min(population_year), bool_and(apl_gp > 4) from staging.stg_drees_apl__communes "
            "where vintage = '2023' and commune_code like '6938%'"
        ).fetchone()
        whole = con.execute(
            "select count(*) from staging.stg_drees_apl__communes where commune_code = '69123'"
        ).fetchone()[0]
    assert types == {
        "vintage": "VARCHAR", "commune_code": "VARCHAR", "commune_name": "VARCHAR", "apl_gp": "DOUBLE",
        "apl_gp_under_65": "DOUBLE", "apl_gp_under_62": "DOUBLE", "apl_gp_under_60": "DOUBLE", "standardised_population": "DOUBLE", "total_population": "DOUBLE",
        "population_year": "INTEGER", "snapshot_sha256": "VARCHAR",
    }
    assert lyon == (9, 2021, True)
    assert whole == 0
