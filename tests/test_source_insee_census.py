"""insee_census_age and insee_census_housing: INSEE census bases per commune (base-cc-…_csv.zip).

No real file of these bases is available (see ../shared/data/real/INDEX.md): the sample, in
INSEE's layout, is the only coverage.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import duckdb
import polars as pl
import pytest
from source_checks import dbt_build, assert_refused_and_nothing_lost, load_from_folder

from pipelines.sample import insee_census_age, insee_census_housing
from pipelines.sample.insee_census_age import aged_villages, census_places, missing_band_commune, write_zip
from pipelines.sample.territory import build_territory
from pipelines.settings import DataHome
from pipelines.sources.catalogue import get_source
from pipelines.sources.readers import get_reader

AGE, HOUSING = "insee_census_age", "insee_census_housing"
STEMS = {AGE: "base-cc-evol-struct-pop", HOUSING: "base-cc-logement"}
ARRONDISSEMENTS = {f"6938{n}" for n in range(1, 10)}


@pytest.fixture(scope="module")
def territory():
    return build_territory()


@pytest.fixture(scope="module")
def sample_mirror(tmp_path_factory, territory):
    """These two sources' sample files only, as a mirror tree."""
    folder = tmp_path_factory.mktemp("census_mirror")
    written = {module.SOURCE: module.write(territory, folder) for module in (insee_census_age, insee_census_housing)}
    return folder, written


@pytest.fixture
def mirror_copy(tmp_path, sample_mirror):
    """A private copy of the sample mirror, for tests that break its files."""
    folder, _ = sample_mirror
    target = tmp_path / "mirror"
    for file in folder.rglob("*.zip"):
        copy = target / file.relative_to(folder)
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_bytes(file.read_bytes())
    return target


def zip_path(folder: Path, source: str, year: str) -> Path:
    return folder / source / year / f"{STEMS[source]}-{year}_csv.zip"


def data_member(source: str, year: str) -> str:
    return f"{STEMS[source]}-{year}.CSV"


def rewrite_member(archive: Path, member: str, change) -> None:
    """Replace one member of a zip by change(its bytes)."""
    with zipfile.ZipFile(archive) as handle:
        members = {name: handle.read(name) for name in handle.namelist()}
    members[member] = change(members[member])
    write_zip(archive, members)


def read_sample(folder: Path, source: str, year: str) -> pl.DataFrame:
    frame, _ = get_reader(source)([zip_path(folder, source, year)], year)["communes"]
    return frame


# --- the sample files and the readers -------------------------------------------------------


@pytest.mark.parametrize("source", [AGE, HOUSING])
def test_sample_vintages_and_file_names_are_the_catalogue_ones(sample_mirror, source):
    folder, written = sample_mirror
    assert written[source] == ["2020", "2021"]
    for year in written[source]:
        catalogue_names = [f.name for f in get_source(source).vintage(year).files]
        assert [p.name for p in (folder / source / year).iterdir()] == catalogue_names
        with zipfile.ZipFile(zip_path(folder, source, year)) as handle:
            assert sorted(handle.namelist()) == [data_member(source, year), f"meta_{data_member(source, year)}"]


def test_sample_files_are_latin_1_and_always_the_same(sample_mirror, territory, tmp_path):
    folder, _ = sample_mirror
    insee_census_housing.write(territory, tmp_path)
    archive = zip_path(folder, HOUSING, "2021")
    assert zip_path(tmp_path, HOUSING, "2021").read_bytes() == archive.read_bytes()
    with zipfile.ZipFile(archive) as handle:
        meta = handle.read(f"meta_{data_member(HOUSING, '2021')}")
        header = handle.read(data_member(HOUSING, "2021")).split(b"\n", 1)[0].decode("ascii")
    assert "Résidences principales".encode("latin-1") in meta
    assert header.startswith("CODGEO;P21_LOG;P21_RP;") and "P21_RP_VOIT1P" in header


def test_age_reader_strips_the_census_year_and_reads_only_the_bands(sample_mirror, territory):
    folder, _ = sample_mirror
    frame = read_sample(folder, AGE, "2020")
    assert frame.columns == ["CODGEO", "CENSUS_YEAR", "POP", "POP0014", "POP1529", "POP3044", "POP4559",
                             "POP6074", "POP7589", "POP90P"]
    assert frame["CENSUS_YEAR"].unique().to_list() == ["2020"]
    assert frame["CODGEO"].to_list() == [p.code for p in census_places(territory)]
    with zipfile.ZipFile(zip_path(folder, AGE, "2020")) as handle:
        raw = pl.read_csv(handle.read(data_member(AGE, "2020")), separator=";", infer_schema=False)
    # the decimals are handed over as written, from the P20_ columns and not the P14_ ones
    assert frame["POP7589"].to_list() == raw["P20_POP7589"].to_list()
    assert any("." in value for value in frame["POP7589"].to_list())


def test_readers_accept_the_bare_csv(sample_mirror, tmp_path):
    folder, _ = sample_mirror
    for source in (AGE, HOUSING):
        with zipfile.ZipFile(zip_path(folder, source, "2021")) as handle:
            csv_path = tmp_path / data_member(source, "2021")
            csv_path.write_bytes(handle.read(data_member(source, "2021")))
        frame, path = get_reader(source)([csv_path], "2021")["communes"]
        assert path == csv_path
        assert frame.equals(read_sample(folder, source, "2021"))


def test_housing_reader_keeps_the_optional_columns_it_finds(sample_mirror):
    folder, _ = sample_mirror
    frame = read_sample(folder, HOUSING, "2021")
    assert frame.columns == ["CODGEO", "CENSUS_YEAR", "RP", "RP_VOIT1P", "MEN", "LOG", "RP_VOIT1", "RP_VOIT2P"]


def test_a_latin_1_name_column_does_not_disturb_the_housing_reader(sample_mirror, tmp_path):
    folder, _ = sample_mirror
    archive = tmp_path / "base-cc-logement-2021_csv.zip"
    archive.write_bytes(zip_path(folder, HOUSING, "2021").read_bytes())

    def add_names(data: bytes) -> bytes:
        lines = data.split(b"\n")
        named = [lines[0].replace(b"CODGEO;", b"CODGEO;LIBGEO;", 1)]
        named += [line.replace(b";", ";Sainte-Énimie-d'Olt;".encode("latin-1"), 1) for line in lines[1:] if line]
        return b"\n".join(named) + b"\n"

    rewrite_member(archive, data_member(HOUSING, "2021"), add_names)
    frame, _ = get_reader(HOUSING)([archive], "2021")["communes"]
    assert frame.equals(read_sample(folder, HOUSING, "2021"))


# --- the story the sample tells --------------------------------------------------------------


def test_aged_villages_have_a_high_share_of_people_aged_75_and_over(sample_mirror, territory):
    folder, _ = sample_mirror
    aged = aged_villages(territory)
    assert 15 <= len(aged) <= 60
    for year in ("2020", "2021"):
        frame = read_sample(folder, AGE, year).with_columns(
            share=(pl.col("POP7589").cast(float) + pl.col("POP90P").cast(float)) / pl.col("POP").cast(float)
        )
        missing = frame.filter(pl.col("POP90P").is_null())["CODGEO"].to_list()
        assert missing == ([missing_band_commune(territory)] if year == "2021" else [])
        frame = frame.filter(pl.col("share").is_not_null())
        high = set(frame.filter(pl.col("share") >= 0.19)["CODGEO"].to_list())
        assert high == aged
        assert frame.filter(~pl.col("CODGEO").is_in(list(aged)))["share"].max() < 0.15
        assert ARRONDISSEMENTS <= set(frame["CODGEO"].to_list()) and "69123" not in frame["CODGEO"].to_list()


def test_households_without_a_car_are_many_in_the_city_and_few_in_villages(sample_mirror, territory):
    folder, _ = sample_mirror
    aged = aged_villages(territory)
    density = {p.code: p.density_level for p in census_places(territory)}
    frame = read_sample(folder, HOUSING, "2021").with_columns(
        car_free=1 - pl.col("RP_VOIT1P").cast(float) / pl.col("MEN").cast(float)
    )
    shares = dict(zip(frame["CODGEO"].to_list(), frame["car_free"].to_list()))
    assert min(shares[code] for code in ARRONDISSEMENTS) >= 0.35
    villages = [code for code, level in density.items() if level >= 5 and code not in aged]
    assert max(shares[code] for code in villages) < 0.1
    assert min(shares[code] for code in aged) > 0.12


# --- loading, refusals ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def loaded_home(tmp_path_factory, sample_mirror):
    folder, written = sample_mirror
    home = DataHome(tmp_path_factory.mktemp("census_home")).ensure()
    for source, years in written.items():
        for year in years:
            outcome = load_from_folder(home, folder, source, year)
            assert outcome.status == "loaded", outcome.detail
    return home


def test_every_census_commune_is_loaded(loaded_home, territory):
    expected = len(census_places(territory))
    with duckdb.connect(str(loaded_home.work_db), read_only=True) as con:
        for source in (AGE, HOUSING):
            counts = dict(con.execute(
                f'select _vintage, count(*) from raw."{source}__communes" group by 1'
            ).fetchall())
            assert counts == {"2020": expected, "2021": expected}


def _drop_column(name: str):
    def change(data: bytes) -> bytes:
        lines = [line.split(";") for line in data.decode("latin-1").splitlines()]
        index = lines[0].index(name)
        return "".join(";".join(c for i, c in enumerate(line) if i != index) + "\n" for line in lines).encode("latin-1")

    return change


def _add_row(row: str):
    return lambda data: data + row.encode("latin-1") + b"\n"


@pytest.mark.parametrize(
    ("source", "change", "expected"),
    [
        (AGE, _drop_column("P21_POP90P"), ["column POP90P is missing"]),
        (AGE, lambda d: d.replace(b"P21_POP7589", b"P21_POP75P", 1), ["column POP7589 is missing", "'POP75P'"]),
        (AGE, _add_row("1001;" + ";".join(["5"] * 19)), ["'1001'", "leading zeros lost?"]),
        (AGE, lambda d: d.decode("latin-1").encode("utf-16"), ["UTF-16", data_member(AGE, "2021")]),
        (AGE, lambda d: d.split(b"\n", 1)[0] + b"\n", ["no data rows"]),
        (AGE, lambda d: b"", ["the file is empty"]),
        (AGE, lambda d: d.replace(b"P21_", b"P20_"), ["no P21_… column for census year 2021", "2020"]),
        (AGE, lambda d: d.replace(b";2.", b";2,", 1), ["not a plain number", "decimal comma"]),
        (HOUSING, _drop_column("P21_RP_VOIT1P"), ["column RP_VOIT1P is missing"]),
        (HOUSING, lambda d: d.decode("latin-1").encode("utf-16"), ["UTF-16"]),
        (HOUSING, _add_row("1001;" + ";".join(["5"] * 11)), ["'1001'"]),
    ],
    ids=["age-missing-column", "age-renamed-column", "age-lost-leading-zero", "age-utf16", "age-header-only",
         "age-empty-csv", "age-other-census-year", "age-decimal-comma", "housing-missing-column",
         "housing-utf16", "housing-lost-leading-zero"],
)
def test_broken_files_are_refused_and_the_last_good_load_is_kept(tmp_path, mirror_copy, source, change, expected):
    home = DataHome(tmp_path / "home").ensure()
    assert load_from_folder(home, mirror_copy, source, "2021").status == "loaded"
    rewrite_member(zip_path(mirror_copy, source, "2021"), data_member(source, "2021"), change)
    file_name = zip_path(mirror_copy, source, "2021").name
    assert_refused_and_nothing_lost(home, mirror_copy, source, "2021", file_name, *expected)


def test_a_zip_without_the_data_file_is_refused(tmp_path, mirror_copy):
    home = DataHome(tmp_path / "home").ensure()
    assert load_from_folder(home, mirror_copy, HOUSING, "2021").status == "loaded"
    archive = zip_path(mirror_copy, HOUSING, "2021")
    with zipfile.ZipFile(archive) as handle:
        meta = handle.read(f"meta_{data_member(HOUSING, '2021')}")
    write_zip(archive, {f"meta_{data_member(HOUSING, '2021')}": meta})
    assert_refused_and_nothing_lost(
        home, mirror_copy, HOUSING, "2021", archive.name, "holds no base-cc-logement-2021.CSV", "meta_"
    )


# --- staging ----------------------------------------------------------------------------------


@pytest.mark.integration
def test_staging_types_the_bands_and_adds_75_plus(tmp_path, loaded_home):
    result = dbt_build(
        loaded_home.work_db, tmp_path, "path:models/staging/insee_census_age", "path:models/staging/insee_census_housing"
    )
    assert result.returncode == 0, result.stdout[-3000:]
    with duckdb.connect(str(loaded_home.work_db), read_only=True) as con:
        types = dict(con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_name = 'stg_insee_census_age__communes'"
        ).fetchall())
        wrong_75_plus = con.execute(
            "select count(*) from staging.stg_insee_census_age__communes "
            "where abs(pop_75_plus - (pop_75_89 + pop_90_plus)) > 1e-9"
        ).fetchone()[0]
        without_90 = con.execute(
            "select vintage, pop_75_89 is not null, pop_75_plus from staging.stg_insee_census_age__communes "
            "where pop_90_plus is null"
        ).fetchall()
        years = con.execute(
            "select distinct vintage, census_year from staging.stg_insee_census_housing__communes order by 1"
        ).fetchall()
        car_free = con.execute(
            "select sum(households - households_with_car) / sum(households) "
            "from staging.stg_insee_census_housing__communes where vintage = '2021' and commune_code like '6938_'"
        ).fetchone()[0]
    assert types["census_year"] == "INTEGER" and types["pop_75_plus"] == "DOUBLE"
    assert wrong_75_plus == 0
    assert without_90 == [("2021", True, None)]  # one band missing: 75+ unknown, not 75-89 alone
    assert years == [("2020", 2020), ("2021", 2021)]
    assert 0.35 <= car_free <= 0.5
