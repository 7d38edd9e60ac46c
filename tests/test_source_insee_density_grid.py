"""insee_density_grid: INSEE's grille communale de densité, in its 7-level (2022) and revised layouts."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import openpyxl
import pytest
from source_checks import assert_refused_and_nothing_lost, dbt_build, load_from_folder

from pipelines.warehouse.ingestion import ingest_source
from pipelines.sample import build_territory
from pipelines.sample import insee_density_grid as sample
from pipelines.settings import DataHome
from pipelines.sources.catalogue import get_source
from pipelines.sources.fetch import Fetcher
from pipelines.sources.readers.insee_density_grid import read
from pipelines.sources.snapshots import RawStore

SOURCE = "insee_density_grid"
REAL_FILE = Path("densite") / "grille_densite_7_niveaux_2022.xlsx"


def query(database: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(sql).fetchall()


# ------------------------------------------------------------------------------ real file


@pytest.mark.real_data
def test_reads_the_real_2022_grid(real_data):
    frame, path = read([real_data / REAL_FILE], "2022")["communes"]
    assert path.name == "grille_densite_7_niveaux_2022.xlsx"
    assert frame.columns == ["CODGEO", "LIBGEO", "DENS", "LIBDENS"]
    assert frame.height == 34_955
    known = frame.filter(frame["CODGEO"].is_in(["71153", "57132", "01001", "75056"]))
    rows = {r["CODGEO"]: r for r in known.to_dicts()}
    assert (rows["71153"]["LIBGEO"], rows["71153"]["DENS"], rows["71153"]["LIBDENS"]) == (
        "Le Creusot", "2", "Centres urbains intermédiaires",
    )  # fmt: skip
    assert (rows["57132"]["DENS"], rows["57132"]["LIBDENS"]) == ("5", "Bourgs ruraux")
    assert rows["01001"]["DENS"] == "6"  # the leading zero of the code is kept
    assert rows["75056"]["DENS"] == "1"
    # Paris, Lyon and Marseille are whole communes, without arrondissements
    assert frame.filter(frame["CODGEO"].is_in(["69123", "13055"])).height == 2
    assert frame.filter(frame["CODGEO"].str.starts_with("751") | frame["CODGEO"].str.starts_with("6938")).height == 0
    per_level = dict(frame.group_by("DENS", "LIBDENS").len().select("DENS", "len").iter_rows())
    assert per_level == {"1": 774, "2": 545, "3": 901, "4": 1_973, "5": 5_105, "6": 18_393, "7": 7_264}
    labels = {int(level): label for level, label in frame.select("DENS", "LIBDENS").unique().iter_rows()}
    assert labels[3] == "Petites villes" and labels[4] == "Ceintures urbaines"
    assert labels == sample.LEVEL_LABELS  # the sample (and the staging tests) use the real labels


@pytest.mark.real_data
def test_real_grid_passes_validation_with_the_national_bounds(tmp_path, real_data):
    home = DataHome(tmp_path / "home").ensure()
    store = RawStore(home.root)
    with Fetcher(store, offline=True) as fetcher, duckdb.connect(str(home.work_db)) as con:
        fetcher.ingest_file(SOURCE, "2022", real_data / REAL_FILE)
        outcome = ingest_source(con, store, None, get_source(SOURCE), ["2022"]).vintages[0]
    assert outcome.status == "loaded", outcome.detail
    assert outcome.rows == {"communes": 34_955}


# ------------------------------------------------------------------------------ sample


@pytest.fixture(scope="module")
def territory():
    return build_territory()


@pytest.fixture(scope="module")
def sample_mirror(tmp_path_factory, territory):
    """This source's sample files only, as a mirror tree."""
    folder = tmp_path_factory.mktemp("density_sample")
    assert sample.write(territory, folder) == ["2022", "2025"]
    return folder


@pytest.fixture
def mirror(tmp_path, sample_mirror):
    """A private copy of the sample mirror, for tests that break it."""
    target = tmp_path / "mirror"
    shutil.copytree(sample_mirror, target)
    return target


def test_sample_files_are_the_catalogue_files_and_do_not_change(tmp_path, sample_mirror, territory):
    source = get_source(SOURCE)
    for vintage in ("2022", "2025"):
        names = sorted(p.name for p in (sample_mirror / SOURCE / vintage).iterdir())
        assert names == sorted(f.name for f in source.vintage(vintage).files)
    again = tmp_path / "again"
    sample.write(territory, again)
    for vintage, name in sample.FILES.items():
        assert (again / SOURCE / vintage / name).read_bytes() == (sample_mirror / SOURCE / vintage / name).read_bytes()


def test_sample_workbooks_have_the_official_layouts(sample_mirror):
    old = openpyxl.load_workbook(sample_mirror / SOURCE / "2022" / sample.FILES["2022"], read_only=True)
    assert old.sheetnames == ["Grille_Densite", "Documentation"]
    header = next(old["Grille_Densite"].iter_rows(min_row=5, max_row=5, values_only=True))
    assert header == ("CODGEO", "LIBGEO", "DENS", "LIBDENS", "PMUN19", "P1", "P2", "P3", "P4", "P5", "P6", "P7")
    first = next(old["Grille_Densite"].iter_rows(min_row=6, max_row=6, values_only=True))
    assert isinstance(first[0], str) and isinstance(first[2], int)  # codes as text, levels as numbers
    revised = openpyxl.load_workbook(sample_mirror / SOURCE / "2025" / sample.FILES["2025"], read_only=True)
    assert revised.sheetnames == ["Maille communale"]
    header = next(revised["Maille communale"].iter_rows(min_row=5, max_row=5, values_only=True))
    assert header[:4] == ("CODGEO", "LIBGEO", "DENS", "LIBDENS") and header[-2:] == ("DENS7", "LIBDENS7")


def test_sample_grids_tell_the_territory_levels(sample_mirror, territory):
    communes = territory.geography("2025").actuelles
    became_rural = sample.became_rural(territory)
    assert len(became_rural) == 4  # one per metropolitan département
    old, _ = read([sample_mirror / SOURCE / "2022" / sample.FILES["2022"]], "2022")["communes"]
    revised, _ = read([sample_mirror / SOURCE / "2025" / sample.FILES["2025"]], "2025")["communes"]
    assert old.height == revised.height == len(communes)
    old_levels = dict(old.select("CODGEO", "DENS").iter_rows())
    new_levels = dict(revised.select("CODGEO", "DENS7").iter_rows())
    for commune in communes:
        assert new_levels[commune.code] == str(commune.density_level)
        assert old_levels[commune.code] == ("4" if commune.code in became_rural else str(commune.density_level))
    # the revised file's DENS is the 3-level grid
    assert set(revised["DENS"]) == {"1", "2", "3"}
    assert dict(revised.select("CODGEO", "LIBDENS").iter_rows())["69123"] == "Urbain dense"


def test_sample_loads_both_layouts(tmp_path, sample_mirror, territory):
    home = DataHome(tmp_path / "home").ensure()
    for vintage in ("2022", "2025"):
        outcome = load_from_folder(home, sample_mirror, SOURCE, vintage)
        assert outcome.status == "loaded", outcome.detail
        assert outcome.rows == {"communes": len(territory.geography("2025").actuelles)}
    # one raw table for both layouts: DENS7 is empty for the 2022 file
    counts = query(home.work_db, 'select _vintage, count("DENS7") from raw.insee_density_grid__communes group by 1 order by 1')
    assert counts == [("2022", 0), ("2025", 270)]


@pytest.mark.integration
def test_staging_takes_the_7_level_grid_from_the_right_column(tmp_path, sample_mirror, territory):
    home = DataHome(tmp_path / "home").ensure()
    for vintage in ("2022", "2025"):
        assert load_from_folder(home, sample_mirror, SOURCE, vintage).status == "loaded"
    result = dbt_build(home.work_db, tmp_path, f"path:models/staging/{SOURCE}")
    assert result.returncode == 0 and "WARN=0" in result.stdout, result.stdout[-4000:]
    staged = {
        (vintage, code): (level, label, level_3, rural)
        for vintage, code, level, label, level_3, rural in query(
            home.work_db,
            "select vintage, commune_code, density_level, density_label, density_level_3, is_rural "
            "from staging.stg_insee_density_grid__communes",
        )
    }
    assert len(staged) == 2 * 270
    for commune in territory.geography("2025").actuelles:
        level, label, level_3, rural = staged[("2025", commune.code)]
        assert (level, label, rural) == (commune.density_level, sample.LEVEL_LABELS[level], level >= 5)
        assert level_3 == sample.three_levels(level)
        assert staged[("2022", commune.code)][2] is None  # no 3-level grid in the 2022 file
    for code in sample.became_rural(territory):
        assert staged[("2022", code)][:2] == (4, "Ceintures urbaines") and staged[("2022", code)][3] is False
        assert staged[("2025", code)][3] is True
    assert ("2025", "69381") not in staged and staged[("2025", "69123")][0] == 1


# ------------------------------------------------------------------------------ broken files


def _edit_workbook(path: Path, change) -> None:
    book = openpyxl.load_workbook(path)
    change(book)
    book.save(path)


def _rename_header(sheet: str, old: str, new: str):
    def change(book):
        for cell in book[sheet][5]:
            if cell.value == old:
                cell.value = new

    return change


def _drop_column(sheet: str, name: str):
    def change(book):
        position = [cell.value for cell in book[sheet][5]].index(name) + 1
        book[sheet].delete_cols(position)

    return change


def _add_row(sheet: str, row: list):
    return lambda book: book[sheet].append(row)


def _swap_dens_columns(book):
    sheet = book["Maille communale"]
    header = [cell.value for cell in sheet[5]]
    dens, dens7 = header.index("DENS") + 1, header.index("DENS7") + 1
    for row in sheet.iter_rows(min_row=6):
        row[dens - 1].value, row[dens7 - 1].value = row[dens7 - 1].value, row[dens - 1].value


def _rename_sheet(book):
    book["Maille communale"].title = "Communes"


@pytest.mark.parametrize(
    ("vintage", "change", "expected"),
    [
        ("2025", _drop_column("Maille communale", "DENS7"), "column DENS7 (the 7-level grid) is missing"),
        ("2022", _rename_header("Grille_Densite", "DENS", "DENS_7"), "column DENS is missing from sheet 'Grille_Densite' (columns: CODGEO, LIBGEO, DENS_7,"),
        ("2022", _rename_header("Grille_Densite", "CODGEO", "CODE_COMMUNE"), "no header row holding CODGEO"),
        ("2025", _add_row("Maille communale", [1001, "Lost Zero", 3, "Rural", 500, 0, 0, 100, 4, "Rural non périurbain", 6, "Rural à habitat dispersé"]), "'1001' (leading zeros lost?)"),
        ("2025", _swap_dens_columns, "DENS should be the 3-level grid beside DENS7"),
        ("2025", _rename_sheet, "no sheet 'Maille communale' or 'Grille_Densite' (sheets: Communes)"),
        ("2022", _add_row("Grille_Densite", ["71999", "Niveau huit", 8, "Inconnu", 10, 0, 0, 0, 0, 0, 0, 100]), "column DENS: 1 value is not among the allowed values"),
    ],
    ids=["missing-dens7", "renamed-column", "renamed-code-column", "lost-leading-zero", "3-level-dens-swapped", "renamed-sheet", "unknown-level"],
)  # fmt: skip
def test_broken_workbooks_are_refused(tmp_path, mirror, vintage, change, expected):
    home = DataHome(tmp_path / "home").ensure()
    assert load_from_folder(home, mirror, SOURCE, vintage).status == "loaded"
    path = mirror / SOURCE / vintage / sample.FILES[vintage]
    _edit_workbook(path, change)
    outcome = assert_refused_and_nothing_lost(home, mirror, SOURCE, vintage, expected)
    assert f"{SOURCE} {vintage} {path.name}" in outcome.detail


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "the file is empty"),
        ("CODGEO;LIBGEO;DENS\n71001;Mâcon;1\n".encode("latin-1"), "not a valid Excel (.xlsx) file"),
    ],
    ids=["empty-file", "latin-1-text-instead-of-xlsx"],
)
def test_files_that_are_not_workbooks_are_refused(tmp_path, mirror, content, expected):
    home = DataHome(tmp_path / "home").ensure()
    assert load_from_folder(home, mirror, SOURCE, "2025").status == "loaded"
    (mirror / SOURCE / "2025" / sample.FILES["2025"]).write_bytes(content)
    assert_refused_and_nothing_lost(home, mirror, SOURCE, "2025", expected)


def test_a_workbook_whose_sheet_list_does_not_decompress_is_refused_naming_the_file(tmp_path, sample_mirror):
    """A byte overwritten inside xl/workbook.xml's deflated data (zlib.error before the fix)."""
    import zipfile

    from pipelines.sources.readers.common import ParseError

    path = tmp_path / sample.FILES["2022"]
    data = bytearray((sample_mirror / SOURCE / "2022" / sample.FILES["2022"]).read_bytes())
    with zipfile.ZipFile(sample_mirror / SOURCE / "2022" / sample.FILES["2022"]) as archive:
        member = archive.getinfo("xl/workbook.xml")
    # the local header: 30 bytes, then the name and the extra field, then the deflated bytes
    name_length = int.from_bytes(data[member.header_offset + 26 : member.header_offset + 28], "little")
    extra_length = int.from_bytes(data[member.header_offset + 28 : member.header_offset + 30], "little")
    start = member.header_offset + 30 + name_length + extra_length
    data[start] = 0xFF  # a deflate block header no decoder accepts
    path.write_bytes(bytes(data))
    with pytest.raises(ParseError, match=rf"^insee_density_grid 2022 {sample.FILES['2022']}: "):
        read([path], "2022")
