"""insee_appartenance: INSEE's table d'appartenance géographique (and per-zoning workbooks), real and sample."""

from __future__ import annotations

import gzip
import shutil
import zipfile
from pathlib import Path

import duckdb
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from source_checks import assert_refused_and_nothing_lost, dbt_build, load_from_folder

from pipelines.sample import build_territory
from pipelines.sample import insee_appartenance as sample
from pipelines.settings import DataHome
from pipelines.sources.catalogue import get_source
from pipelines.sources.readers.common import IncompleteVintage, ParseError
from pipelines.sources.readers.insee_appartenance import COMMUNE_COLUMNS, read

SOURCE = "insee_appartenance"
VINTAGES = ("2025", "2026")


@pytest.fixture(scope="module")
def territory():
    return build_territory()


@pytest.fixture(scope="module")
def sample_folder(tmp_path_factory, territory) -> Path:
    folder = tmp_path_factory.mktemp("insee_appartenance_sample")
    assert sample.write(territory, folder) == list(VINTAGES)
    return folder


def sample_file(folder: Path, vintage: str) -> Path:
    return folder / SOURCE / vintage / sample.file_name(vintage)


def by_code(frame: pl.DataFrame) -> dict[str, dict]:
    return {row["CODGEO"]: row for row in frame.iter_rows(named=True)}


# ------------------------------------------------------------------------------ real files


def test_the_original_aav_workbook_reads_with_its_aires_and_categories(real_data):
    path = real_data / "zonages-insee" / "AAV2020_au_01-01-2021.xlsx"
    frames = read([path], "2021")
    communes, zones = by_code(frames["communes"][0]), frames["zones"][0]
    assert len(communes) == 34_965
    # the checks INSEE's file documents (PROVENANCE.md)
    assert (communes["71153"]["AAV2020"], communes["71153"]["CATEAAV2020"]) == ("183", "11")  # Le Creusot, pôle
    assert (communes["57132"]["AAV2020"], communes["57132"]["CATEAAV2020"]) == ("000", "30")  # Château-Salins, hors
    assert (communes["23001"]["AAV2020"], communes["23001"]["CATEAAV2020"]) == ("179", "20")  # Ahun, couronne of Guéret
    assert communes["75056"]["AAV2020"] == "001"
    assert frames["communes"][0]["CATEAAV2020"].value_counts().sort("CATEAAV2020").rows() == [
        ("11", 692), ("12", 1_020), ("13", 33), ("20", 24_289), ("30", 8_931),
    ]  # fmt: skip
    # the workbook gives the aire only: the other zonings are absent, not guessed
    assert communes["71153"]["ZE2020"] is None and communes["71153"]["BV2022"] is None
    labels = {(r["NIVGEO"], r["CODGEO"]): r["LIBGEO"] for r in zones.iter_rows(named=True)}
    assert zones.height == 700 and labels[("AAV2020", "183")] == "Le Creusot" and labels[("AAV2020", "001")] == "Paris"


def test_a_spreadsheet_resave_gets_every_leading_zero_back(real_data):
    """The real 2022 table re-saved by a spreadsheet: cp1252, ';', codes turned into numbers."""
    path = real_data / "zonages-insee" / "table-appartenance-geo-communes-22.csv.gz"
    raw = gzip.decompress(path.read_bytes()).decode("cp1252")
    assert "\n1001;L'Abergement-Clémenciat;1;84;12;108;" in raw  # the damage is really there
    communes = by_code(read([path], "2022")["communes"][0])
    assert len(communes) == 34_955
    first = communes["01001"]
    assert (first["DEP"], first["ARR"], first["CV"], first["ZE2020"], first["UU2020"], first["AAV2020"]) == (
        "01", "012", "0108", "8405", "01000", "524",
    )  # fmt: skip
    assert communes["71153"]["UU2020"] == "71401" and communes["71153"]["ZE2020"] == "2710"
    assert communes["75056"]["UU2020"] == "00851"  # Paris's unité urbaine spans départements: 00851
    assert communes["97411"]["DEP"] == "974" and communes["2A004"]["ARR"] == "2A1"
    assert communes["23001"]["UU2020"] == "23000"  # a rural commune, outside any unité urbaine
    assert communes["01001"]["BV2022"] is None  # the 2022 table has BV2012 only: not read as BV2022
    assert all(len(code) == 5 for code in communes)


def test_the_aav_workbook_ingests_by_hand_as_vintage_2021(tmp_path, real_data):
    from click.testing import CliRunner

    from pipelines.cli.commands import main

    home = tmp_path / "home"
    workbook = real_data / "zonages-insee" / "AAV2020_au_01-01-2021.xlsx"
    result = CliRunner().invoke(
        main, ["ingest", SOURCE, "--vintage", "2021", "--file", str(workbook)], env={"TERRITOIRES_HOME": str(home)}
    )
    assert result.exit_code == 0, result.output
    assert "communes         34,965 rows from AAV2020_au_01-01-2021.xlsx" in result.output
    assert "zones               700 rows" in result.output
    assert "insee_appartenance 2021 is valid" in result.output


# ------------------------------------------------------------------------------ damaged files


def resave(rows: list[list[str]]) -> bytes:
    """A COM sheet as a spreadsheet re-saves it: ';', cp1252, CRLF."""
    header = ["CODGEO", "LIBGEO", "DEP", "REG", "ARR", "CV", "ZE2020", "UU2020", "AAV2020", "CATEAAV2020"]
    return "\r\n".join(";".join(r) for r in [header, *rows]).encode("cp1252")


def test_a_commune_outside_its_departement_is_refused_naming_the_row(tmp_path):
    path = tmp_path / "table.csv"
    path.write_bytes(resave([["1001", "Ain", "1", "84", "12", "108", "8405", "1000", "524", "20"],
                             ["71153", "Le Creusot", "72", "27", "711", "7198", "2710", "71401", "183", "11"]]))  # fmt: skip
    with pytest.raises(ParseError, match=r"table\.csv: column CODGEO: 1 communes are not in their département DEP, e\.g\. row 2 CODGEO '71153' DEP '72'"):
        read([path], "2022")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "the file is empty"),
        (b"INSEE_COM;ZE2020\r\n01001;8405\r\n", "no header line starting with CODGEO"),
        (b"CODGEO;LIBGEO;DEP\r\n01001;Ain;01\r\n", "none of the zoning columns"),
        (bytes([0x81, 0x8D, 0x8F, 0x90, 0x9D]) * 4, "cannot be decoded as UTF-8 or Windows-1252"),
    ],
)
def test_files_that_are_no_table_are_refused_clearly(tmp_path, data, expected):
    path = tmp_path / "table.csv"
    path.write_bytes(data)
    with pytest.raises(ParseError, match=expected):
        read([path], "2022")


def test_no_readable_file_is_an_incomplete_vintage(tmp_path):
    other = tmp_path / "notes.txt"
    other.write_text("nothing")
    with pytest.raises(IncompleteVintage, match="no table d'appartenance"):
        read([other], "2024")


def test_a_zip_without_a_workbook_is_refused(tmp_path):
    path = tmp_path / "table-appartenance-geo-communes-2024.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("lisez-moi.txt", "rien")
    with pytest.raises(ParseError, match="the archive holds no .xlsx workbook"):
        read([path], "2024")


# ------------------------------------------------------------------------------ sample


def test_catalogue_and_sample_agree(sample_folder):
    for vintage in VINTAGES:
        assert [f.name for f in get_source(SOURCE).vintage(vintage).files] == [sample.file_name(vintage)]
        with zipfile.ZipFile(sample_file(sample_folder, vintage)) as archive:
            assert archive.namelist() == [f"table-appartenance-geo-communes-{vintage}.xlsx"]


def test_the_sample_reads_back_as_the_territory_was_zoned(sample_folder, territory):
    for vintage in VINTAGES:
        frames = read([sample_file(sample_folder, vintage)], vintage)
        communes = by_code(frames["communes"][0])
        expected = sample.zonings(territory, vintage)
        assert set(communes) == {c.code for c in territory.geography(vintage).actuelles}
        for code, zones in expected.items():
            assert {k: communes[code][k] for k in zones} == zones
        labels = frames["zones"][0]
        assert set(labels["NIVGEO"].unique()) == {"ARR", "CV", "ZE2020", "UU2020", "AAV2020", "BV2022"}
        for level in ("ZE2020", "BV2022"):
            assert set(labels.filter(pl.col("NIVGEO") == level)["CODGEO"]) == {z[level] for z in expected.values()}
    moved = sample.moved_commune(territory)
    assert sample.zonings(territory, "2025")[moved]["ZE2020"] != sample.zonings(territory, "2026")[moved]["ZE2020"]


def test_sample_loads_through_the_real_path(tmp_path, sample_folder, territory):
    home = DataHome(tmp_path / "home").ensure()
    mirror = tmp_path / "mirror"
    shutil.copytree(sample_folder, mirror)
    outcome = load_from_folder(home, mirror, SOURCE, "2026")
    assert outcome.status == "loaded", outcome.detail
    assert outcome.rows["communes"] == len(territory.geography("2026").actuelles)


@pytest.mark.integration
def test_staging_names_each_level_and_category(tmp_path, sample_folder, territory):
    home = DataHome(tmp_path / "home").ensure()
    mirror = tmp_path / "mirror"
    shutil.copytree(sample_folder, mirror)
    assert load_from_folder(home, mirror, SOURCE, "2026").status == "loaded"
    result = dbt_build(home.work_db, tmp_path, f"path:models/staging/{SOURCE}")
    assert result.returncode == 0 and "WARN=0" in result.stdout, result.stdout[-3000:]
    with duckdb.connect(str(home.work_db), read_only=True) as con:
        staged = con.execute(
            "select commune_code, zone_emploi_code, bassin_vie_code, aire_attraction_category "
            "from staging.stg_insee_appartenance__communes order by commune_code"
        ).fetchall()
        levels = dict(con.execute("select level, count(*) from staging.stg_insee_appartenance__zones group by level").fetchall())
    categories = {"11": "pole_principal", "20": "couronne", "30": "hors_attraction"}
    zones = sample.zonings(territory, "2026")
    assert staged == [(code, z["ZE2020"], z["BV2022"], categories[z["CATEAAV2020"]]) for code, z in sorted(zones.items())]
    assert levels["zone_emploi"] == len({z["ZE2020"] for z in zones.values()})
    assert set(levels) == {"arrondissement", "canton", "zone_emploi", "unite_urbaine", "aire_attraction", "bassin_vie"}


def test_a_damaged_table_is_refused_and_nothing_is_lost(tmp_path, sample_folder):
    home = DataHome(tmp_path / "home").ensure()
    mirror = tmp_path / "mirror"
    shutil.copytree(sample_folder, mirror)
    assert load_from_folder(home, mirror, SOURCE, "2026").status == "loaded"
    sample_file(mirror, "2026").write_bytes(b"PK\x03\x04 not a zip at all")
    assert_refused_and_nothing_lost(home, mirror, SOURCE, "2026", "2026")


# ------------------------------------------------------------------------------ properties

CODES = st.builds(
    lambda dep, rest: (dep, dep + rest),
    st.sampled_from(["01", "02", "09", "10", "71", "2A", "2B", "83"]),
    st.integers(1, 999).map(lambda n: f"{n:03d}"),
)


def _settings(test):
    return settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])(test)


@_settings
@given(rows=st.lists(st.tuples(CODES, st.integers(0, 9999), st.sampled_from(["11", "20", "30"])), min_size=1, max_size=30,
                     unique_by=lambda r: r[0][1]))  # fmt: skip
def test_codes_that_lost_their_zeros_are_read_back_whole(rows):
    """Written whole, or with every leading zero dropped as a spreadsheet does: the same codes come back."""
    def strip(code: str) -> str:
        return code.lstrip("0") or "0"

    whole = [[c, f"Commune {c}", d, "84", d + "1", d + "01", f"{z % 9000 + 1000:04d}", f"{d}{z % 1000:03d}", f"{z % 1000:03d}", cat]
             for (d, c), z, cat in rows]  # fmt: skip
    damaged = [[strip(v) if i not in (1, 9) else v for i, v in enumerate(r)] for r in whole]
    for table in (whole, damaged):
        frame = read_bytes_as_table(resave(table))
        assert frame.select("CODGEO", "DEP", "ARR", "CV", "ZE2020", "UU2020", "AAV2020", "CATEAAV2020").rows() == [
            (r[0], r[2], r[4], r[5], r[6], r[7], r[8], r[9]) for r in whole
        ]


@_settings
@given(data=st.binary(max_size=400), cut=st.integers(0, 300))
def test_any_bytes_give_a_table_or_a_clear_refusal(data, cut):
    good = resave([["1001", "Ain", "1", "84", "12", "108", "8405", "1000", "524", "20"]])
    for candidate in (data, good[:cut] + data, good + data):
        try:
            frame = read_bytes_as_table(candidate)
        except ParseError as exc:
            assert "table.csv" in str(exc)
        else:
            assert frame.columns == list(COMMUNE_COLUMNS)


def read_bytes_as_table(data: bytes) -> pl.DataFrame:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "table.csv"
        path.write_bytes(data)
        return read([path], "2022")["communes"][0]


def test_a_workbook_inside_the_zip_is_found_whatever_its_folder(tmp_path, sample_folder):
    source = sample_file(sample_folder, "2026")
    with zipfile.ZipFile(source) as archive:
        workbook = archive.read(archive.namelist()[0])
    nested = tmp_path / "table-appartenance-geo-communes-2026.zip"
    with zipfile.ZipFile(nested, "w") as archive:
        archive.writestr("table_appartenance/table-appartenance-geo-communes-2026.xlsx", workbook)
    assert read([nested], "2026")["communes"][0].equals(read([source], "2026")["communes"][0])
