"""insee_population: INSEE populations légales, donnees_communes.csv in the yearly ensemble.zip."""

from __future__ import annotations

import zipfile
from pathlib import Path

import duckdb
import polars as pl
import pytest
from source_checks import dbt_build, assert_refused_and_nothing_lost, load_from_folder

from pipelines.warehouse.ingestion import ingest_source
from pipelines.sample.insee_census_age import write_zip
from pipelines.sample.insee_population import legal_populations, listed_places, write
from pipelines.sample.territory import build_territory
from pipelines.settings import DataHome
from pipelines.sources.catalogue import get_source
from pipelines.sources.fetch import Fetcher
from pipelines.sources.readers.insee_population import read
from pipelines.sources.snapshots import RawStore

SOURCE = "insee_population"
MEMBER = "donnees_communes.csv"


@pytest.fixture(scope="module")
def territory():
    return build_territory()


@pytest.fixture(scope="module")
def sample_mirror(tmp_path_factory, territory):
    """This source's sample files only, as a mirror tree (other sources' writers are not run)."""
    folder = tmp_path_factory.mktemp("population_mirror")
    return folder, write(territory, folder)


@pytest.fixture
def mirror_copy(tmp_path, sample_mirror):
    """A private copy of the sample mirror, for tests that break its files."""
    folder, _ = sample_mirror
    target = tmp_path / "mirror"
    (target / SOURCE).mkdir(parents=True)
    for vintage_dir in (folder / SOURCE).iterdir():
        (target / SOURCE / vintage_dir.name).mkdir()
        for file in vintage_dir.iterdir():
            (target / SOURCE / vintage_dir.name / file.name).write_bytes(file.read_bytes())
    return target


def rewrite_member(archive: Path, member: str, change) -> None:
    """Replace one member of a zip by change(its bytes)."""
    with zipfile.ZipFile(archive) as handle:
        members = {name: handle.read(name) for name in handle.namelist()}
    members[member] = change(members[member])
    write_zip(archive, members)


def communes_csv(folder: Path, vintage: str) -> bytes:
    with zipfile.ZipFile(folder / SOURCE / vintage / "ensemble.zip") as handle:
        return handle.read(MEMBER)


# --- the sample files and the reader ------------------------------------------------------


def test_sample_vintages_and_file_names_are_the_catalogue_ones(sample_mirror):
    folder, vintages = sample_mirror
    source = get_source(SOURCE)
    assert vintages == ["2022", "2023"]
    for vintage in vintages:
        names = [f.name for f in source.vintage(vintage).files]
        assert sorted(p.name for p in (folder / SOURCE / vintage).iterdir()) == names == ["ensemble.zip"]
        with zipfile.ZipFile(folder / SOURCE / vintage / "ensemble.zip") as handle:
            assert {"donnees_communes.csv", "donnees_departements.csv"} <= set(handle.namelist())


def test_sample_is_written_in_insee_layout_and_always_the_same(sample_mirror, territory, tmp_path):
    folder, _ = sample_mirror
    lines = communes_csv(folder, "2023").decode("utf-8").splitlines()
    assert lines[0] == "REG;Région;DEP;CODARR;CODCAN;CODCOM;COM;Commune;PMUN;PCAP;PTOT"
    by_code = {line.split(";")[6]: line.split(";") for line in lines[1:]}
    assert by_code["2A004"][2:7] == ["2A", "1", "99", "004", "2A004"]
    assert by_code["97411"][2] == "974" and by_code["97411"][5] == "11"
    write(territory, tmp_path)
    assert (tmp_path / SOURCE / "2023" / "ensemble.zip").read_bytes() == (
        folder / SOURCE / "2023" / "ensemble.zip"
    ).read_bytes()


def test_reader_takes_the_code_from_COM_and_keeps_arrondissements(sample_mirror, territory):
    folder, _ = sample_mirror
    frame, path = read([folder / SOURCE / "2023" / "ensemble.zip"], "2023")["communes"]
    assert path.name == "ensemble.zip"
    assert frame.columns == ["CODGEO", "DEP", "CODCOM", "PMUN", "PCAP", "PTOT"]
    codes = frame["CODGEO"].to_list()
    assert codes == [p.code for p in listed_places(territory)]
    assert "69123" not in codes and {f"6938{n}" for n in range(1, 10)} <= set(codes)
    row = frame.filter(pl.col("CODGEO") == "97411").row(0, named=True)
    assert row["DEP"] == "974" and int(row["PTOT"]) == int(row["PMUN"]) + int(row["PCAP"])


def test_reader_rebuilds_the_code_of_the_older_layout_from_a_bare_csv(sample_mirror, tmp_path):
    """Older files: CODREG;REG;CODDEP;…;CODCOM;COM(name);…, here with CODCOM stripped of its zeros."""
    folder, _ = sample_mirror
    current = pl.read_csv(communes_csv(folder, "2023"), separator=";", infer_schema=False)
    older = current.select(
        pl.col("REG").alias("CODREG"), pl.col("Région").alias("REG"), pl.col("DEP").alias("CODDEP"),
        "CODARR", "CODCAN", pl.col("CODCOM").cast(pl.Int64).cast(pl.Utf8), pl.col("Commune").alias("COM"),
        "PMUN", "PCAP", "PTOT",
    )
    path = tmp_path / MEMBER
    older.write_csv(path, separator=";")
    frame, _ = read([path], "2023")["communes"]
    assert frame["CODGEO"].to_list() == current["COM"].to_list()
    assert set(frame.columns) == {"CODGEO", "CODDEP", "CODCOM", "PMUN", "PCAP", "PTOT"}


# --- loading the sample --------------------------------------------------------------------


@pytest.fixture(scope="module")
def loaded_home(tmp_path_factory, sample_mirror):
    folder, vintages = sample_mirror
    home = DataHome(tmp_path_factory.mktemp("population_home")).ensure()
    for vintage in vintages:
        outcome = load_from_folder(home, folder, SOURCE, vintage)
        assert outcome.status == "loaded", outcome.detail
    return home


def loaded_populations(home: DataHome, vintage: str) -> dict[str, int]:
    with duckdb.connect(str(home.work_db), read_only=True) as con:
        rows = con.execute(
            'select CODGEO, PMUN from raw."insee_population__communes" where _vintage = ?', [vintage]
        ).fetchall()
    return {code: int(pmun) for code, pmun in rows}


def test_every_listed_code_is_loaded_for_both_vintages(loaded_home, territory):
    expected = {p.code for p in listed_places(territory)}
    for vintage in ("2022", "2023"):
        assert set(loaded_populations(loaded_home, vintage)) == expected


def test_2022_is_the_population_etalab_carries_in_2025(loaded_home, territory):
    geography = territory.geography("2025")
    populations = loaded_populations(loaded_home, "2022")
    assert populations == {code: geography.commune(code).population for code in populations}


def test_2023_lists_communes_merged_in_2026_one_by_one_and_they_add_up(loaded_home, territory):
    populations = loaded_populations(loaded_home, "2023")
    geography_2026 = territory.geography("2026")
    for merger in territory.mergers:
        assert all(code in populations for code in merger.predecessors)
        assert sum(populations[c] for c in merger.predecessors) == geography_2026.commune(merger.code).population
    arrondissements = sum(populations[f"6938{n}"] for n in range(1, 10))
    assert arrondissements == geography_2026.commune("69123").population
    assert populations == {code: pmun for code, (pmun, _) in legal_populations(territory, "2023").items()}


# --- broken files are refused, nothing is lost ---------------------------------------------


def _drop_column(name: str):
    def change(data: bytes) -> bytes:
        lines = [line.split(";") for line in data.decode("utf-8").splitlines()]
        index = lines[0].index(name)
        return "".join(";".join(c for i, c in enumerate(line) if i != index) + "\n" for line in lines).encode()

    return change


LOST_ZERO_ROW = "84;Auvergne-Rhône-Alpes;1;2;08;1;1001;L'Abergement-Clémenciat;860;16;876\n"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (_drop_column("PCAP"), ["column PCAP is missing"]),
        (lambda data: data.replace(b";PTOT\n", b";P_TOT\n", 1), ["column PTOT is missing", "'P_TOT'"]),
        (lambda data: data + LOST_ZERO_ROW.encode("utf-8"), ["'1001'", "leading zeros lost?"]),
        (lambda data: data.decode("utf-8").encode("latin-1"), ["cannot be decoded as utf-8", MEMBER]),
        (lambda data: data.split(b"\n", 1)[0] + b"\n", ["no data rows"]),
        (lambda data: b"", ["the file is empty", MEMBER]),
    ],
    ids=["missing-column", "renamed-column", "lost-leading-zero", "latin-1", "header-only", "empty-csv"],
)
def test_broken_files_are_refused_and_the_last_good_load_is_kept(tmp_path, mirror_copy, change, expected):
    home = DataHome(tmp_path / "home").ensure()
    assert load_from_folder(home, mirror_copy, SOURCE, "2023").status == "loaded"
    rewrite_member(mirror_copy / SOURCE / "2023" / "ensemble.zip", MEMBER, change)
    assert_refused_and_nothing_lost(home, mirror_copy, SOURCE, "2023", "ensemble.zip", *expected)


def test_an_empty_download_is_refused_before_parsing(tmp_path, mirror_copy):
    home = DataHome(tmp_path / "home").ensure()
    assert load_from_folder(home, mirror_copy, SOURCE, "2022").status == "loaded"
    (mirror_copy / SOURCE / "2022" / "ensemble.zip").write_bytes(b"")
    assert_refused_and_nothing_lost(home, mirror_copy, SOURCE, "2022", "ensemble.zip", "empty")


def test_a_zip_without_the_communes_table_is_refused(tmp_path, mirror_copy):
    home = DataHome(tmp_path / "home").ensure()
    assert load_from_folder(home, mirror_copy, SOURCE, "2022").status == "loaded"
    archive = mirror_copy / SOURCE / "2022" / "ensemble.zip"
    with zipfile.ZipFile(archive) as handle:
        departements = handle.read("donnees_departements.csv")
    write_zip(archive, {"donnees_departements.csv": departements})
    assert_refused_and_nothing_lost(
        home, mirror_copy, SOURCE, "2022", "ensemble.zip", "holds no donnees_communes.csv", "donnees_departements.csv"
    )


# --- staging --------------------------------------------------------------------------------


@pytest.mark.integration
def test_staging_types_and_checks_the_sample(tmp_path, loaded_home):
    result = dbt_build(loaded_home.work_db, tmp_path, "path:models/staging/insee_population")
    assert result.returncode == 0, result.stdout[-3000:]
    with duckdb.connect(str(loaded_home.work_db), read_only=True) as con:
        types = dict(con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_name = 'stg_insee_population__communes'"
        ).fetchall())
        row = con.execute(
            "select departement_code, population_municipale, population_comptee_a_part, population_totale "
            "from staging.stg_insee_population__communes where vintage = '2023' and commune_code = '2A004'"
        ).fetchone()
    assert types["population_municipale"] == "BIGINT" and types["commune_code"] == "VARCHAR"
    assert row[0] == "2A" and row[1] + row[2] == row[3]


# --- real codes -----------------------------------------------------------------------------


@pytest.mark.real_data
def test_the_older_layout_rebuilds_every_real_commune_code(tmp_path, real_data):
    """Real COG 2024 codes and 2021 populations (datas-fun, from INSEE's comparateur de territoires)
    written in INSEE's older layout, commune part without its zeros, then ingested by hand as a
    bare CSV: every code comes back and the national checks pass."""
    real = (
        pl.read_csv(real_data / "communes" / "datas-fun" / "communes.csv", infer_schema=False)
        .filter(pl.col("commune_type").is_in(["COM", "ARM"]))
        .unique("insee_com", keep="first", maintain_order=True)
    )
    older = real.select(
        pl.col("insee_reg").alias("CODREG"), pl.lit("").alias("REG"), pl.col("insee_dep").alias("CODDEP"),
        pl.lit("").alias("CODARR"), pl.lit("").alias("CODCAN"),
        pl.col("insee_com").str.slice(pl.col("insee_dep").str.len_chars()).cast(pl.Int64).cast(pl.Utf8).alias("CODCOM"),
        pl.col("commune").alias("COM"), pl.col("population_2021").alias("PMUN"), pl.lit("0").alias("PCAP"),
        pl.col("population_2021").alias("PTOT"),
    )
    csv_path = tmp_path / MEMBER
    older.write_csv(csv_path, separator=";")

    home = DataHome(tmp_path / "home").ensure()
    store = RawStore(home.root)
    with Fetcher(store, offline=True) as fetcher:
        fetcher.ingest_file(SOURCE, "2021", csv_path)
    with duckdb.connect(str(home.work_db)) as con:
        outcome = ingest_source(con, store, None, get_source(SOURCE), ["2021"]).vintages[0]
        assert outcome.status == "loaded", outcome.detail
        loaded = dict(con.execute('select CODGEO, PMUN from raw."insee_population__communes"').fetchall())
    assert set(loaded) == set(real["insee_com"].to_list())
    assert len(loaded) == 34_976  # 34,931 communes + 45 arrondissements municipaux
    assert loaded["71153"] == "20731"  # Le Creusot
    assert loaded["57132"] == "2297"  # Château-Salins
    assert {"2A004", "97411", "75101", "13201", "69381"} <= set(loaded) and "75056" not in loaded
