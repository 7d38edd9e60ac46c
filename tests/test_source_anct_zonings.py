"""anct_frr and anct_zrr: the rural revitalisation zonings (FRR since July 2024, ZRR before)."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import duckdb
import openpyxl
import polars as pl
import pytest
import xlrd
from source_checks import assert_refused_and_nothing_lost, dbt_build, load_from_folder

from pipelines.sample import anct_frr as frr_sample
from pipelines.sample import anct_zrr as zrr_sample
from pipelines.sample import build_territory
from pipelines.sample.anct_zrr import commune_nouvelle_2017
from pipelines.settings import DBT_PROJECT_DIR, DataHome
from pipelines.sources.catalogue import get_source
from pipelines.sources.fetch import Fetcher
from pipelines.sources.readers import anct_frr, anct_zrr
from pipelines.sources.readers.common import ParseError
from pipelines.sources.snapshots import RawStore
from pipelines.warehouse.ingestion import INVALID, ingest_source

REAL_FRR = Path("frr") / "liste-communes-FRR-juillet2025.csv"
REAL_ZRR = Path("zrr") / "ZRR_list_source.csv"
REAL_ZRR_XLS = Path("zrr") / "diffusion-zonages-zrr-cog2021.xls"
FRR_FILE = "anct_frr/2025/liste-communes-FRR-juillet2025.csv"
ZRR_FILE = "anct_zrr/2021/diffusion-zonages-zrr-cog2021.xls"
ZRR_SHEET = "Classement ZRR (COG 2021)"
SOURCES = ["anct_frr", "anct_zrr"]


def query(database: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(sql).fetchall()


def ingest_by_hand(home: DataHome, source: str, vintage: str, *paths: Path, sample: bool = False):
    """Ingest files by hand (as `territoires ingest`), then parse, validate and load the vintage
    (with the national row bounds, or those of the sample)."""
    store = RawStore(home.root)
    with Fetcher(store, offline=True) as fetcher, duckdb.connect(str(home.work_db)) as con:
        for path in paths:
            fetcher.ingest_file(source, vintage, path)
        return ingest_source(con, store, None, get_source(source), [vintage], sample=sample).vintages[0]


# ------------------------------------------------------------------------------ real files


@pytest.mark.real_data
def test_reads_the_real_frr_list_of_july_2025(real_data):
    frame, path = anct_frr.read([real_data / REAL_FRR], "2025")["communes"]
    assert path.name == "liste-communes-FRR-juillet2025.csv"
    # the empty column after the trailing ';' is gone; the dated header gets a stable name
    assert frame.columns == ["Code_insee", "Departement", "Commune", "Classement FRR et FRR+", "Date du classement"]
    assert frame.height == 34_875 and frame["Code_insee"].n_unique() == 34_875
    counts = dict(frame["Classement FRR et FRR+"].value_counts().iter_rows())
    assert counts == {
        "Non classée": 14_941,
        "FRR socle": 13_313,
        "FRR+": 4_456,
        "FRR bénéficiaire": 2_134,
        "Classée FRR partiellement": 20,
        "FRR bénéficiaire partiellement": 11,
    }
    assert set(frame["Date du classement"]) == {"2025-07-10"}
    label = dict(frame.select("Code_insee", "Classement FRR et FRR+").iter_rows())
    assert label["23001"] == "FRR+"  # Ahun
    assert label["57132"] == "FRR bénéficiaire"  # Château-Salins
    assert label["57123"] == label["71153"] == label["75056"] == "Non classée"  # Carling, Le Creusot, Paris
    assert label["01001"] == "Non classée"  # leading zero kept
    assert "13055" in label and "13201" not in label  # Marseille whole, no arrondissement


@pytest.mark.real_data
def test_the_real_frr_list_reads_the_same_from_a_workbook(tmp_path, real_data):
    # No copy of the ministry's .xlsx is at hand: the real list goes into a workbook with
    # title rows above the header, the codes as text cells (as the CSV export has them).
    csv_frame, _ = anct_frr.read([real_data / REAL_FRR], "2025")["communes"]
    raw = pl.read_csv(real_data / REAL_FRR, separator=";", infer_schema=False)
    columns = raw.columns[:4]
    path = write_frr_workbook(tmp_path / "Liste communes FRR_juillet2025.xlsx", columns, raw.select(columns).rows())
    frame, found = anct_frr.read([path], "2025")["communes"]
    assert found == path and frame.equals(csv_frame)


@pytest.mark.real_data
def test_reads_the_real_zrr_list_of_cog_2021(real_data):
    frame, path = anct_zrr.read([real_data / REAL_ZRR], "2021")["communes"]
    assert frame.columns == ["CODGEO", "LIBGEO", "ZRR_SIMP", "ZONAGE_ZRR"]
    # 34,965 communes; the export's three empty trailing rows are dropped
    assert frame.height == 34_965 and frame["CODGEO"].n_unique() == 34_965
    assert frame.filter(pl.col("CODGEO").is_null()).height == 0
    counts = dict(frame["ZRR_SIMP"].value_counts().iter_rows())
    assert counts == {
        "C - Classée en ZRR": 17_694,
        "NC - Commune non classée": 17_235,
        "P - Commune partiellement classée en ZRR": 36,
    }
    status = {code: (simple, detail) for code, _, simple, detail in frame.iter_rows()}
    assert status["57132"] == ("C - Classée en ZRR", "C - Commune classée en ZRR")  # Château-Salins
    assert status["23001"][0] == "C - Classée en ZRR"  # Ahun
    for code in ("71153", "57123", "75056", "69123", "01001"):  # Le Creusot, Carling, Paris, Lyon
        assert status[code][0] == "NC - Commune non classée"
    assert status["97424"][0] == "C - Classée en ZRR" and status["97422"][0].startswith("P - ")  # Cilaos, Le Tampon
    assert frame.filter(pl.col("ZONAGE_ZRR").str.starts_with("A - ")).height == 3_024


@pytest.mark.real_data
def test_reads_the_real_workbook_cog_2017_sheet(real_data):
    path = real_data / REAL_ZRR_XLS
    assert xlrd.open_workbook(path, on_demand=True).sheet_names() == [
        "Classement ZRR (COG 2021)", "Classement ZRR (COG 2017)", "Documentation", "Métadonnées"
    ]  # fmt: skip
    frame, found = anct_zrr.read([path], "2017")["communes"]
    assert found == path
    assert frame.columns == ["CODGEO", "LIBGEO", "ZRR_SIMP", "ZONAGE_ZRR"]
    # the header of codes is on the sheet's 6th row, the communes follow to the last row
    assert frame.height == 35_416 and frame["CODGEO"].n_unique() == 35_416
    assert frame["CODGEO"].str.contains(r"^([0-9]{2}|2[AB])[0-9]{3}$").all()
    assert frame.row(0) == ("01001", "L'Abergement-Clémenciat", "NC - Non classée", "NC - Non classée")
    counts = dict(frame["ZRR_SIMP"].value_counts().iter_rows())
    assert counts == {
        "C - Classée en ZRR": 17_956, "NC - Non classée": 17_440, "P - Partiellement classée en ZRR": 20
    }  # fmt: skip
    modalities = dict(frame["ZONAGE_ZRR"].str.extract(r"^(\w+) - ").value_counts().iter_rows())
    assert modalities == {"NC": 17_440, "C": 13_870, "A": 3_063, "M": 1_011, "P": 20, "D": 12}
    status = dict(frame.select("CODGEO", "ZRR_SIMP").iter_rows())
    assert status["23001"] == status["57132"] == "C - Classée en ZRR"  # Ahun, Château-Salins
    assert status["71153"] == status["57123"] == status["75056"] == "NC - Non classée"  # Le Creusot, Carling, Paris
    assert "97617" in status  # Mayotte: "France entière" on the COG 2017


@pytest.mark.real_data
def test_the_real_workbook_cog_2021_sheet_is_truncated_and_refused(tmp_path, real_data):
    # The only copy found was re-saved by its uploader: its COG 2021 sheet keeps 2 communes.
    frame, _ = anct_zrr.read([real_data / REAL_ZRR_XLS], "2021")["communes"]
    assert frame["CODGEO"].to_list() == ["01001", "01002"]
    assert set(frame["ZRR_SIMP"]) == {"NC - Commune non classée"}  # the COG 2021 wording
    outcome = ingest_by_hand(DataHome(tmp_path / "home").ensure(), "anct_zrr", "2021", real_data / REAL_ZRR_XLS)
    assert outcome.status == INVALID
    assert "anct_zrr 2021 diffusion-zonages-zrr-cog2021.xls" in outcome.detail
    assert "row count: 2 rows, expected between 34000 and 37000" in outcome.detail


@pytest.mark.real_data
def test_real_frr_beneficiaries_are_former_zrr_communes(real_data):
    frr, _ = anct_frr.read([real_data / REAL_FRR], "2025")["communes"]
    zrr, _ = anct_zrr.read([real_data / REAL_ZRR], "2021")["communes"]
    both = frr.join(zrr, left_on="Code_insee", right_on="CODGEO", how="inner")
    pairs = dict(
        both.group_by("Classement FRR et FRR+", "ZRR_SIMP")
        .len()
        .select(pl.concat_str("Classement FRR et FRR+", "ZRR_SIMP", separator=" | "), "len")
        .iter_rows()
    )
    # "FRR bénéficiaire": not classified in FRR, but formerly in ZRR (keeps the benefits)
    assert pairs["FRR bénéficiaire | C - Classée en ZRR"] == 2_133
    assert not any(k.startswith("FRR bénéficiaire |") and "NC - " in k for k in pairs)
    assert pairs["Non classée | NC - Commune non classée"] == 14_935
    assert not any(k.startswith("Non classée |") and "NC - " not in k for k in pairs)


@pytest.mark.real_data
def test_real_lists_pass_validation_with_the_national_bounds(tmp_path, real_data):
    home = DataHome(tmp_path / "home").ensure()
    for source, vintage, path, rows in (
        ("anct_frr", "2025", REAL_FRR, 34_875),
        ("anct_zrr", "2021", REAL_ZRR, 34_965),
        ("anct_zrr", "2017", REAL_ZRR_XLS, 35_416),
    ):
        outcome = ingest_by_hand(home, source, vintage, real_data / path)
        assert outcome.status == "loaded", outcome.detail
        assert outcome.rows == {"communes": rows}


@pytest.mark.real_data
@pytest.mark.integration
def test_staging_of_the_real_zrr_sheets_gives_one_code_per_label(tmp_path, real_data):
    home = DataHome(tmp_path / "home").ensure()
    assert ingest_by_hand(home, "anct_zrr", "2017", real_data / REAL_ZRR_XLS).status == "loaded"
    assert ingest_by_hand(home, "anct_zrr", "2021", real_data / REAL_ZRR).status == "loaded"
    result = dbt_build(home.work_db, tmp_path, "rural_zoning_classes", "path:models/staging/anct_zrr")
    assert result.returncode == 0 and "WARN=0" in result.stdout, result.stdout[-4000:]
    counts = query(
        home.work_db,
        "select vintage, zrr_code, count(*) from staging.stg_anct_zrr__communes group by all order by all",
    )
    # the 2017 sheet words its labels differently ("NC - Non classée"): the same codes come out
    assert counts == [
        ("2017", "C", 17_956), ("2017", "NC", 17_440), ("2017", "P", 20),
        ("2021", "C", 17_694), ("2021", "NC", 17_235), ("2021", "P", 36),
    ]  # fmt: skip


def test_the_seed_knows_every_label_the_catalogue_accepts():
    seed = pl.read_csv(DBT_PROJECT_DIR / "seeds" / "rural_zoning_classes.csv", infer_schema=False)
    frr_labels = get_source("anct_frr").entities["communes"]["value_sets"]["Classement FRR et FRR+"]
    assert sorted(seed.filter(pl.col("zoning") == "frr")["label_fr"]) == sorted(frr_labels)
    # ZRR labels are matched on their prefix (the sheets word them differently)
    zrr_codes = seed.filter(pl.col("zoning") == "zrr")["code"].to_list()
    assert zrr_codes == ["C", "P", "NC"]
    zrr_labels = get_source("anct_zrr").entities["communes"]["value_sets"]["ZRR_SIMP"]
    assert sorted({label.split(" - ")[0] for label in zrr_labels}) == sorted(zrr_codes)
    assert set(seed.filter(pl.col("zoning") == "zrr")["label_fr"]) <= set(zrr_labels)


# ------------------------------------------------------------------------------ sample


@pytest.fixture(scope="module")
def territory():
    return build_territory()


@pytest.fixture(scope="module")
def sample_mirror(tmp_path_factory, territory):
    """The two sources' sample files only, as a mirror tree."""
    folder = tmp_path_factory.mktemp("zonings_sample")
    assert frr_sample.write(territory, folder) == ["2025"]
    assert zrr_sample.write(territory, folder) == ["2021"]
    return folder


@pytest.fixture
def mirror(tmp_path, sample_mirror):
    """A private copy of the sample mirror, for tests that break it."""
    target = tmp_path / "mirror"
    shutil.copytree(sample_mirror, target)
    return target


def test_sample_files_are_the_catalogue_files_in_the_official_formats(sample_mirror, tmp_path, territory):
    for source, vintage in (("anct_frr", "2025"), ("anct_zrr", "2021")):
        names = [p.name for p in (sample_mirror / source / vintage).iterdir()]
        assert names == [f.name for f in get_source(source).vintage(vintage).files]
    frr = (sample_mirror / FRR_FILE).read_bytes()
    assert frr.startswith(b"Code_insee;Departement;Commune;Classement FRR et FRR+ au 10 juillet 2025;\r\n")
    assert all(line.endswith(b";") for line in frr.split(b"\r\n") if line) and b"\n" not in frr.replace(b"\r\n", b"")
    # the workbook: the published sheets, and the rows of a classification sheet
    book = xlrd.open_workbook(sample_mirror / ZRR_FILE)
    assert book.sheet_names() == [ZRR_SHEET, "Classement ZRR (COG 2017)", "Documentation", "Métadonnées"]
    sheet = book.sheet_by_name(ZRR_SHEET)
    assert sheet.row_values(0) == ["Champ : France métropolitaine et DOM", "", "", ""]
    assert sheet.row_values(3) == ["", "", "", ""] and sheet.row_values(4)[0] == "Code Insee"
    assert sheet.row_values(5) == ["CODGEO", "LIBGEO", "ZRR_SIMP", "ZONAGE_ZRR"]
    assert sheet.nrows == 6 + len(territory.geography("2025").actuelles)
    assert {sheet.cell_type(r, 0) for r in range(6, sheet.nrows)} == {xlrd.XL_CELL_TEXT}  # codes are text cells
    # the CSV export of the sheet (the layout of a file ingested by hand)
    export = zrr_sample.write_csv_export(territory, tmp_path / "export.csv").read_text("utf-8").split("\n")
    assert export[0] == '"Champ : France métropolitaine et DOM","","",""' and export[3] == '"","","",""'
    assert export[4].startswith('"Code Insee",') and export[5] == '"CODGEO","LIBGEO","ZRR_SIMP","ZONAGE_ZRR"'
    assert export[-4:] == ['"","","",""'] * 3 + [""]


def test_sample_workbook_and_its_export_read_the_same(sample_mirror, tmp_path, territory):
    workbook, _ = anct_zrr.read([sample_mirror / ZRR_FILE], "2021")["communes"]
    export, _ = anct_zrr.read([zrr_sample.write_csv_export(territory, tmp_path / "export.csv")], "2021")["communes"]
    assert workbook.equals(export)
    older, _ = anct_zrr.read([sample_mirror / ZRR_FILE], "2017")["communes"]
    assert older["CODGEO"].equals(workbook["CODGEO"])
    assert set(older["ZRR_SIMP"]) == {"C - Classée en ZRR", "P - Partiellement classée en ZRR", "NC - Non classée"}


def test_sample_tells_the_zrr_to_frr_story(sample_mirror, territory):
    frr, _ = anct_frr.read([sample_mirror / FRR_FILE], "2025")["communes"]
    zrr, _ = anct_zrr.read([sample_mirror / ZRR_FILE], "2021")["communes"]
    communes = {c.code: c for c in territory.geography("2025").actuelles}
    assert frr.height == zrr.height == len(communes)
    both = frr.join(zrr, left_on="Code_insee", right_on="CODGEO")
    story = {code: (f, z) for code, f, z in both.select("Code_insee", "Classement FRR et FRR+", "ZRR_SIMP").iter_rows()}
    every_label = get_source("anct_frr").entities["communes"]["value_sets"]["Classement FRR et FRR+"]
    assert set(frr["Classement FRR et FRR+"]) == set(every_label)  # the sample uses each label
    for code, (frr_label, zrr_label) in story.items():
        if frr_label == "FRR bénéficiaire":
            assert zrr_label == "C - Classée en ZRR"  # formerly in ZRR, not in FRR
        if frr_label == "Non classée":
            assert zrr_label == "NC - Commune non classée"
        if communes[code].density_level <= 2 and code != commune_nouvelle_2017(territory.geography("2025")):
            assert (frr_label, zrr_label) == ("Non classée", "NC - Commune non classée")  # urban centres never
    partial = commune_nouvelle_2017(territory.geography("2025"))
    assert story[partial] == ("Classée FRR partiellement", "P - Commune partiellement classée en ZRR")
    assert story["69123"] == ("Non classée", "NC - Commune non classée")


@pytest.mark.parametrize(("source", "vintage"), [("anct_frr", "2025"), ("anct_zrr", "2021")])
def test_sample_loads_every_commune(tmp_path, sample_mirror, territory, source, vintage):
    home = DataHome(tmp_path / "home").ensure()
    outcome = load_from_folder(home, sample_mirror, source, vintage)
    assert outcome.status == "loaded", outcome.detail
    assert outcome.rows == {"communes": len(territory.geography("2025").actuelles)}


@pytest.mark.integration
def test_staging_of_the_sample(tmp_path, sample_mirror, territory):
    home = DataHome(tmp_path / "home").ensure()
    assert load_from_folder(home, sample_mirror, "anct_frr", "2025").status == "loaded"
    assert load_from_folder(home, sample_mirror, "anct_zrr", "2021").status == "loaded"
    result = dbt_build(home.work_db, tmp_path, "rural_zoning_classes", *[f"path:models/staging/{s}" for s in SOURCES])
    assert result.returncode == 0 and "WARN=0" in result.stdout, result.stdout[-4000:]
    frr = dict(query(home.work_db, "select commune_code, frr_code from staging.stg_anct_frr__communes"))
    labels = frr_sample.frr_labels(territory)
    codes = {"FRR+": "frr_plus", "FRR socle": "frr_socle", "Classée FRR partiellement": "frr_partiel",
             "FRR bénéficiaire": "frr_beneficiaire", "FRR bénéficiaire partiellement": "frr_beneficiaire_partiel",
             "Non classée": "non_classee"}  # fmt: skip
    assert frr == {code: codes[label] for code, label in labels.items()}
    zrr = dict(query(home.work_db, "select commune_code, zrr_code from staging.stg_anct_zrr__communes"))
    assert zrr == zrr_sample.zrr_classes(territory)
    # nobody keeps the FRR benefits without having been in ZRR
    orphans = query(
        home.work_db,
        "select f.commune_code from staging.stg_anct_frr__communes f join staging.stg_anct_zrr__communes z "
        "using (commune_code) where f.benefits and not f.is_classified and not z.is_classified",
    )
    assert orphans == []


# ------------------------------------------------------------------------------ FRR workbook


def write_frr_workbook(path: Path, header: list[str], rows: list[tuple], *, sheet: str = "Liste FRR") -> Path:
    """An .xlsx as the ministry could publish it: title rows, an empty row, the header, the communes."""
    book = openpyxl.Workbook(write_only=True)
    cells = book.create_sheet(sheet)
    cells.append(["Liste des communes classées en France Ruralités Revitalisation (FRR et FRR+)"])
    cells.append(["Source : arrêté du 19 juin 2024 modifié, mise à jour au 10 juillet 2025"])
    cells.append([])
    cells.append(list(header))
    for row in rows:
        cells.append(list(row))
    book.save(path)
    return path


def _sample_frr_rows(sample_mirror: Path) -> tuple[list[str], list[tuple]]:
    raw = pl.read_csv(sample_mirror / FRR_FILE, separator=";", infer_schema=False)
    return raw.columns[:4], raw.select(raw.columns[:4]).rows()


def test_an_frr_workbook_reads_as_its_csv_export(tmp_path, sample_mirror):
    header, rows = _sample_frr_rows(sample_mirror)
    path = write_frr_workbook(tmp_path / "Liste communes FRR_juillet2025.xlsx", header, rows)
    frame, found = anct_frr.read([path], "2025")["communes"]
    exported, _ = anct_frr.read([sample_mirror / FRR_FILE], "2025")["communes"]
    assert found == path and frame.equals(exported)
    assert frame.columns == ["Code_insee", "Departement", "Commune", "Classement FRR et FRR+", "Date du classement"]


def test_an_frr_workbook_passes_validation_when_ingested_by_hand(tmp_path, sample_mirror):
    header, rows = _sample_frr_rows(sample_mirror)
    path = write_frr_workbook(tmp_path / "Liste communes FRR_juillet2025.xlsx", header, rows)
    home = DataHome(tmp_path / "home").ensure()
    outcome = ingest_by_hand(home, "anct_frr", "2025", path, sample=True)
    assert outcome.status == "loaded" and outcome.rows == {"communes": len(rows)}, outcome.detail


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda h, r: (["Code commune", *h[1:]], r), "no header row starting with Code_insee in the first 30 rows"),
        (lambda h, r: ([*h[:3], "Zonage au 10 juillet 2025"], r), "no column named 'Classement FRR et FRR+ au <date>'"),
        # a code typed in as a number loses its leading zero: validation says so
        (lambda h, r: (h, [(1001, "01", "Perdu-le-Zéro", "Non classée"), *r]), "'1001' (leading zeros lost?)"),
    ],
    ids=["renamed-code-column", "renamed-classification", "number-code"],
)
def test_broken_frr_workbooks_are_refused(tmp_path, sample_mirror, change, expected):
    header, rows = change(*_sample_frr_rows(sample_mirror))
    path = write_frr_workbook(tmp_path / "Liste communes FRR_juillet2025.xlsx", header, rows)
    outcome = ingest_by_hand(DataHome(tmp_path / "home").ensure(), "anct_frr", "2025", path, sample=True)
    assert outcome.status == INVALID and expected in outcome.detail, outcome.detail
    assert "anct_frr 2025 Liste communes FRR_juillet2025.xlsx" in outcome.detail


def test_a_csv_named_xlsx_is_explained(tmp_path, sample_mirror):
    path = tmp_path / "liste.xlsx"
    path.write_bytes((sample_mirror / FRR_FILE).read_bytes())
    with pytest.raises(ParseError, match=r"anct_frr 2025 liste\.xlsx: not an Excel \.xlsx workbook"):
        anct_frr.read([path], "2025")


# ------------------------------------------------------------------------------ broken files


def _replace(old: str, new: str):
    return lambda text: text.replace(old, new, 1)


def _drop_frr_code_column(text: str) -> str:
    return "\r\n".join(line.split(";", 1)[1] if line else line for line in text.split("\r\n"))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (_drop_frr_code_column, "column Code_insee is missing"),
        (_replace("Classement FRR et FRR+ au 10 juillet 2025", "Zonage au 10 juillet 2025"), "no column named 'Classement FRR et FRR+ au <date>'"),
        (lambda text: text + "1001;01;Perdu-le-Zéro;Non classée;\r\n", "'1001' (leading zeros lost?)"),
        (_replace(";FRR socle;", ";FRR socle renforcé;"), "'FRR socle renforcé'"),
        (lambda text: text + text.split("\r\n")[1] + "\r\n", "rows share their key with another row"),
    ],
    ids=["missing-column", "renamed-column", "lost-leading-zero", "unknown-label", "duplicated-commune"],
)  # fmt: skip
def test_broken_frr_lists_are_refused(tmp_path, mirror, change, expected):
    home = DataHome(tmp_path / "home").ensure()
    assert load_from_folder(home, mirror, "anct_frr", "2025").status == "loaded"
    path = mirror / FRR_FILE
    path.write_bytes(change(path.read_bytes().decode("utf-8")).encode("utf-8"))
    outcome = assert_refused_and_nothing_lost(home, mirror, "anct_frr", "2025", expected)
    assert "anct_frr 2025 liste-communes-FRR-juillet2025.csv" in outcome.detail


def _edit_sheet(change):
    """Rewrite the sample workbook with its COG 2021 sheet's rows changed by `change(rows)`."""

    def rewrite(territory, path: Path) -> None:
        book = xlrd.open_workbook(path)
        sheets = [(s.name, [[str(v) for v in s.row_values(r)] for r in range(s.nrows)]) for s in book.sheets()]
        sheets = [(name, change(rows) if name == ZRR_SHEET else rows) for name, rows in sheets]
        path.write_bytes(zrr_sample.workbook_bytes(sheets))

    return rewrite


def _header_cell(old: str, new: str):
    return _edit_sheet(lambda rows: [[new if cell == old else cell for cell in row] for row in rows])


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (_edit_sheet(lambda rows: [row[:2] + row[3:] for row in rows]), "column ZRR_SIMP is missing"),
        (_header_cell("CODGEO", "CODE_INSEE"), "(sheet 'Classement ZRR (COG 2021)'): no header line starting with CODGEO"),
        (_header_cell("ZRR_SIMP", "ZRR_SIMPLE"), "column ZRR_SIMP is missing; close match among the present columns: 'ZRR_SIMPLE'"),
        (_edit_sheet(lambda rows: rows + [["1001", "Zéro-Perdu", "NC - Commune non classée", "NC - Commune non classée"]]), "'1001' (leading zeros lost?)"),
        (_header_cell("C - Classée en ZRR", "C - Classée"), "'C - Classée'"),
        (_edit_sheet(lambda rows: rows[:6]), "file has no data rows"),
        (lambda territory, path: path.write_bytes(zrr_sample.workbook_bytes([("Classement ZRR (COG 2017)", zrr_sample.classification_rows(territory, "2017"))])),
         "the workbook has no sheet 'Classement ZRR (COG 2021)' (sheets: Classement ZRR (COG 2017))"),
        (lambda territory, path: path.write_bytes(b"\xd0\xcf\x11\xe0" + bytes(600)), "not an Excel 97-2003 (.xls) workbook"),
    ],
    ids=["missing-column", "renamed-code-column", "renamed-column", "lost-leading-zero", "unknown-label", "no-commune",
         "no-sheet-of-the-vintage", "damaged-workbook"],
)  # fmt: skip
def test_broken_zrr_workbooks_are_refused(tmp_path, mirror, territory, change, expected):
    home = DataHome(tmp_path / "home").ensure()
    assert load_from_folder(home, mirror, "anct_zrr", "2021").status == "loaded"
    change(territory, mirror / ZRR_FILE)
    outcome = assert_refused_and_nothing_lost(home, mirror, "anct_zrr", "2021", expected)
    assert "anct_zrr 2021 diffusion-zonages-zrr-cog2021.xls" in outcome.detail


def _drop_zrr_simp_column(text: str) -> str:
    rows = list(csv.reader(io.StringIO(text)))
    buffer = io.StringIO()
    csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows([r[:2] + r[3:] for r in rows])
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (_drop_zrr_simp_column, "column ZRR_SIMP is missing"),
        (_replace('"CODGEO","LIBGEO"', '"CODE_INSEE","LIBGEO"'), "no header line starting with CODGEO"),
        (_replace('"2A004",', '"1001","Zéro-Perdu","NC - Commune non classée","NC - Commune non classée"\n"2A004",'), "'1001' (leading zeros lost?)"),
        (_replace('"C - Classée en ZRR"', '"C - Classée"'), "'C - Classée'"),
    ],
    ids=["missing-column", "renamed-code-column", "lost-leading-zero", "unknown-label"],
)  # fmt: skip
def test_broken_zrr_csv_exports_are_refused(tmp_path, territory, change, expected):
    path = zrr_sample.write_csv_export(territory, tmp_path / "diffusion-zonages-zrr-cog2021.csv")
    path.write_text(change(path.read_text("utf-8")), encoding="utf-8")
    outcome = ingest_by_hand(DataHome(tmp_path / "home").ensure(), "anct_zrr", "2021", path, sample=True)
    assert outcome.status == INVALID and expected in outcome.detail, outcome.detail
    assert "anct_zrr 2021 diffusion-zonages-zrr-cog2021.csv" in outcome.detail


@pytest.mark.parametrize(
    ("encode", "expected"),
    [
        (lambda text: text.encode("latin-1"), "cannot be decoded as utf-8"),
        (lambda text: b"", "the file is empty"),
    ],
    ids=["latin-1", "empty-file"],
)
def test_wrong_encoding_and_empty_zrr_exports_are_refused(tmp_path, territory, encode, expected):
    export = zrr_sample.write_csv_export(territory, tmp_path / "diffusion-zonages-zrr-cog2021.csv")
    export.write_bytes(encode(export.read_text("utf-8")))
    with pytest.raises(ParseError, match=f"anct_zrr 2021 diffusion-zonages-zrr-cog2021.csv: {expected}"):
        anct_zrr.read([export], "2021")


def test_an_frr_list_re_saved_in_windows_1252_reads_the_same_names(tmp_path, mirror):
    path = mirror / FRR_FILE
    as_published = anct_frr.read([path], "2025")["communes"][0]
    re_saved = tmp_path / path.name
    re_saved.write_bytes(path.read_text("utf-8").encode("cp1252"))
    assert any(not name.isascii() for name in as_published["Commune"])  # accents to get right
    assert anct_frr.read([re_saved], "2025")["communes"][0].equals(as_published)


@pytest.mark.parametrize(
    ("source_id", "vintage", "file", "expected"),
    [("anct_frr", "2025", FRR_FILE, "the file is empty"), ("anct_zrr", "2021", ZRR_FILE, "empty")],
    ids=["frr-list", "zrr-workbook"],
)
def test_an_empty_file_is_refused_and_the_loaded_vintage_kept(tmp_path, mirror, source_id, vintage, file, expected):
    home = DataHome(tmp_path / "home").ensure()
    assert load_from_folder(home, mirror, source_id, vintage).status == "loaded"
    (mirror / file).write_bytes(b"")
    assert_refused_and_nothing_lost(home, mirror, source_id, vintage, expected)


def test_more_title_lines_and_a_semicolon_export_still_read(tmp_path, territory):
    text = zrr_sample.write_csv_export(territory, tmp_path / "export.csv").read_text("utf-8")
    path = tmp_path / "diffusion-zonages-zrr-cog2021.csv"
    path.write_text('"Zones de revitalisation rurale","","",""\n' + text.replace('","', '";"'), encoding="utf-8")
    frame, _ = anct_zrr.read([path], "2021")["communes"]
    assert frame.columns == ["CODGEO", "LIBGEO", "ZRR_SIMP", "ZONAGE_ZRR"] and frame.height == 270


def test_more_title_rows_in_the_workbook_still_read(tmp_path, territory):
    rows = zrr_sample.classification_rows(territory, "2021")
    path = tmp_path / "diffusion-zonages-zrr-cog2021.xls"
    path.write_bytes(zrr_sample.workbook_bytes([(ZRR_SHEET, [["Zones de revitalisation rurale"], [], *rows])]))
    frame, _ = anct_zrr.read([path], "2021")["communes"]
    assert frame.columns == ["CODGEO", "LIBGEO", "ZRR_SIMP", "ZONAGE_ZRR"] and frame.height == 270


def test_a_name_beyond_u_ffff_reads_back_from_the_workbook(tmp_path, territory):
    """A character outside the Basic Multilingual Plane is two UTF-16 units in a BIFF8 string (hypothesis found it)."""
    rows = zrr_sample.classification_rows(territory, "2021")
    rows[-1] = [rows[-1][0], "Saint-𐀀-le-Haut", *rows[-1][2:]]
    path = tmp_path / "diffusion-zonages-zrr-cog2021.xls"
    path.write_bytes(zrr_sample.workbook_bytes([(ZRR_SHEET, rows)]))
    frame, _ = anct_zrr.read([path], "2021")["communes"]
    assert frame["LIBGEO"][-1] == "Saint-𐀀-le-Haut"


def test_a_sheet_with_a_damaged_string_is_refused_with_its_name(tmp_path, territory):
    rows = zrr_sample.classification_rows(territory, "2021")
    rows[-1] = [rows[-1][0], "Saint-𐀀", *rows[-1][2:]]
    data = bytearray(zrr_sample.workbook_bytes([(ZRR_SHEET, rows)]))
    at = data.index("Saint-𐀀".encode("utf-16-le"))  # after the label's length (2 bytes) and flags (1 byte)
    data[at - 3:at - 1] = (len("Saint-") + 1).to_bytes(2, "little")  # its length now ends inside the surrogate pair
    path = tmp_path / "diffusion-zonages-zrr-cog2021.xls"
    path.write_bytes(bytes(data))
    with pytest.raises(ParseError, match=r"cog2021.xls: the sheet 'Classement ZRR \(COG 2021\)' is damaged"):
        anct_zrr.read([path], "2021")
