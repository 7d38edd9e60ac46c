"""anct_frr and anct_zrr: the rural revitalisation zonings (FRR since July 2024, ZRR before)."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest
from source_checks import assert_refused_and_nothing_lost, dbt_build, load_from_folder

from pipelines.warehouse.ingestion import ingest_source
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

REAL_FRR = Path("frr") / "liste-communes-FRR-juillet2025.csv"
REAL_ZRR = Path("zrr") / "ZRR_list_source.csv"
FRR_FILE = "anct_frr/2025/liste-communes-FRR-juillet2025.csv"
ZRR_FILE = "anct_zrr/2021/diffusion-zonages-zrr-cog2021.csv"
SOURCES = ["anct_frr", "anct_zrr"]


def query(database: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(sql).fetchall()


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
    store = RawStore(home.root)
    with Fetcher(store, offline=True) as fetcher, duckdb.connect(str(home.work_db)) as con:
        for source, vintage, path, rows in (
            ("anct_frr", "2025", REAL_FRR, 34_875),
            ("anct_zrr", "2021", REAL_ZRR, 34_965),
        ):
            fetcher.ingest_file(source, vintage, real_data / path)
            outcome = ingest_source(con, store, None, get_source(source), [vintage]).vintages[0]
            assert outcome.status == "loaded", outcome.detail
            assert outcome.rows == {"communes": rows}


def test_the_seed_knows_every_label_the_catalogue_accepts():
    seed = pl.read_csv(DBT_PROJECT_DIR / "seeds" / "rural_zoning_classes.csv", infer_schema=False)
    accepted = {
        "frr": get_source("anct_frr").entities["communes"]["value_sets"]["Classement FRR et FRR+"],
        "zrr": get_source("anct_zrr").entities["communes"]["value_sets"]["ZRR_SIMP"],
    }
    for zoning, labels in accepted.items():
        assert sorted(seed.filter(pl.col("zoning") == zoning)["label_fr"]) == sorted(labels)
    assert seed.filter(pl.col("zoning") == "zrr")["code"].to_list() == ["C", "P", "NC"]


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


def test_sample_files_are_the_catalogue_files_in_the_official_formats(sample_mirror):
    for source, vintage in (("anct_frr", "2025"), ("anct_zrr", "2021")):
        names = [p.name for p in (sample_mirror / source / vintage).iterdir()]
        assert names == [f.name for f in get_source(source).vintage(vintage).files]
    frr = (sample_mirror / FRR_FILE).read_bytes()
    assert frr.startswith(b"Code_insee;Departement;Commune;Classement FRR et FRR+ au 10 juillet 2025;\r\n")
    assert all(line.endswith(b";") for line in frr.split(b"\r\n") if line) and b"\n" not in frr.replace(b"\r\n", b"")
    zrr = (sample_mirror / ZRR_FILE).read_text("utf-8").split("\n")
    assert zrr[0] == '"Champ : France métropolitaine et DOM","","",""' and zrr[3] == '"","","",""'
    assert zrr[4].startswith('"Code Insee",') and zrr[5] == '"CODGEO","LIBGEO","ZRR_SIMP","ZONAGE_ZRR"'
    assert zrr[-4:] == ['"","","",""'] * 3 + [""]


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


# ------------------------------------------------------------------------------ broken files


def _replace(old: str, new: str):
    return lambda text: text.replace(old, new, 1)


def _drop_zrr_simp_column(text: str) -> str:
    rows = list(csv.reader(io.StringIO(text)))
    buffer = io.StringIO()
    csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows([r[:2] + r[3:] for r in rows])
    return buffer.getvalue()


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


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (_drop_zrr_simp_column, "column ZRR_SIMP is missing"),
        (_replace('"CODGEO","LIBGEO"', '"CODE_INSEE","LIBGEO"'), "no header line starting with CODGEO"),
        (_replace('"CODGEO","LIBGEO","ZRR_SIMP"', '"CODGEO","LIBGEO","ZRR_SIMPLE"'), "column ZRR_SIMP is missing; close match among the present columns: 'ZRR_SIMPLE'"),
        (_replace('"2A004",', '"1001","Zéro-Perdu","NC - Commune non classée","NC - Commune non classée"\n"2A004",'), "'1001' (leading zeros lost?)"),
        (_replace('"C - Classée en ZRR"', '"C - Classée"'), "'C - Classée'"),
    ],
    ids=["missing-column", "renamed-code-column", "renamed-column", "lost-leading-zero", "unknown-label"],
)  # fmt: skip
def test_broken_zrr_lists_are_refused(tmp_path, mirror, change, expected):
    home = DataHome(tmp_path / "home").ensure()
    assert load_from_folder(home, mirror, "anct_zrr", "2021").status == "loaded"
    path = mirror / ZRR_FILE
    path.write_bytes(change(path.read_bytes().decode("utf-8")).encode("utf-8"))
    outcome = assert_refused_and_nothing_lost(home, mirror, "anct_zrr", "2021", expected)
    assert "anct_zrr 2021 diffusion-zonages-zrr-cog2021.csv" in outcome.detail


@pytest.mark.parametrize(
    ("source", "vintage", "file"), [("anct_frr", "2025", FRR_FILE), ("anct_zrr", "2021", ZRR_FILE)], ids=SOURCES
)
@pytest.mark.parametrize(
    ("encode", "expected"),
    [
        (lambda text: text.encode("latin-1"), "cannot be decoded as utf-8"),
        (lambda text: b"", "the file is empty"),
    ],
    ids=["latin-1", "empty-file"],
)
def test_wrong_encoding_and_empty_files_are_refused(tmp_path, mirror, source, vintage, file, encode, expected):
    home = DataHome(tmp_path / "home").ensure()
    assert load_from_folder(home, mirror, source, vintage).status == "loaded"
    path = mirror / file
    path.write_bytes(encode(path.read_text("utf-8")))
    assert_refused_and_nothing_lost(home, mirror, source, vintage, expected)


def test_more_title_lines_and_a_semicolon_export_still_read(tmp_path, sample_mirror):
    text = (sample_mirror / ZRR_FILE).read_text("utf-8")
    path = tmp_path / "diffusion-zonages-zrr-cog2021.csv"
    path.write_text('"Zones de revitalisation rurale","","",""\n' + text.replace('","', '";"'), encoding="utf-8")
    frame, _ = anct_zrr.read([path], "2021")["communes"]
    assert frame.columns == ["CODGEO", "LIBGEO", "ZRR_SIMP", "ZONAGE_ZRR"] and frame.height == 240


def test_an_xls_workbook_alone_is_explained(tmp_path):
    path = tmp_path / "diffusion-zonages-zrr-cog2021.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(ParseError, match=r"export its sheet 'Classement ZRR \(COG 2021\)' as CSV"):
        anct_zrr.read([path], "2021")
