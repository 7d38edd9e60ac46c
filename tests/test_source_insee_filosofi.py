"""insee_filosofi: households, median standard of living and poverty rate per commune (INSEE Filosofi)."""

from __future__ import annotations

import io
import shutil
import tempfile
import zipfile
from pathlib import Path

import duckdb
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from byte_draws import cut_short
from source_checks import assert_refused_and_nothing_lost, dbt_build, load_from_folder

from pipelines.sample import build_territory
from pipelines.sample import insee_filosofi as sample
from pipelines.sample.anct_littoral import on_coast
from pipelines.settings import DataHome
from pipelines.sources.catalogue import get_source
from pipelines.sources.errors import SourceError
from pipelines.sources.readers.common import IncompleteVintage, ParseError
from pipelines.sources.readers.insee_filosofi import read

SOURCE = "insee_filosofi"
VINTAGES = list(sample.FILES)
COLUMNS = ["CODGEO", "LIBGEO", "NBMENFISC", "MED", "TP60", "NBPERSMENFISC"]


def query(database: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.fixture(scope="module")
def territory():
    return build_territory()


@pytest.fixture(scope="module")
def sample_folder(tmp_path_factory, territory) -> Path:
    """The source's sample mirror, written once for the module (copy it before changing it)."""
    folder = tmp_path_factory.mktemp("insee_filosofi_sample")
    assert sample.write(territory, folder) == VINTAGES
    return folder


@pytest.fixture
def mirror(tmp_path, sample_folder) -> Path:
    target = tmp_path / "mirror"
    shutil.copytree(sample_folder, target)
    return target


def zip_path(mirror: Path, year: str) -> Path:
    return mirror / SOURCE / year / sample.FILES[year]


def commune_csv(mirror: Path, year: str) -> bytes:
    with zipfile.ZipFile(zip_path(mirror, year)) as archive:
        return archive.read(f"cc_filosofi_{year}_COM.csv")


def rezip(mirror: Path, year: str, data: bytes, member: str | None = None) -> None:
    with zipfile.ZipFile(zip_path(mirror, year), "w") as archive:
        archive.writestr(member or f"cc_filosofi_{year}_COM.csv", data)


# ------------------------------------------------------------------------------ sample


def test_catalogue_and_sample_agree(sample_folder):
    source = get_source(SOURCE)
    assert source.vintage_ids == VINTAGES
    for year in VINTAGES:
        assert [f.name for f in source.vintage(year).files] == [sample.FILES[year]]
        assert [p.name for p in (sample_folder / SOURCE / year).iterdir()] == [sample.FILES[year]]
    header = commune_csv(sample_folder, "2021").decode("utf-8").split("\n", 1)[0]
    assert header.startswith("CODGEO;LIBGEO;NBMENFISC21;NBPERSMENFISC21;MED21;PIMP21;TP6021;")


def test_the_story_of_the_sample(territory):
    values = sample.values(territory, "2021")
    communes = {c.code: c for c in territory.geography(sample.GEOGRAPHY).actuelles}
    secret = {code for code, v in values.items() if v["median"] is None}
    assert secret == {
        code for code, c in communes.items()
        if round(c.population / (2.6 if c.departement == "974" else 2.2)) < 50
    }  # fmt: skip
    assert secret and all(communes[code].population < 150 for code in secret)

    def rates(selected) -> list[float]:
        return [values[c.code]["poverty_rate"] for c in selected if values[c.code]["poverty_rate"] is not None]

    var = [c for c in communes.values() if c.departement == "83"]
    coast, hinterland = rates(c for c in var if on_coast(territory, c)), rates(c for c in var if not on_coast(territory, c))
    assert coast and hinterland and max(coast) < min(hinterland)
    assert min(rates(c for c in communes.values() if c.departement == "974")) > 30
    suburbs = rates(c for c in communes.values() if c.ctcd == "69M" and c.code != "69123")
    others = rates(c for c in communes.values() if c.departement == "69" and c.ctcd != "69M")
    assert max(suburbs) < min(others) and min(suburbs) == 5.0  # bottom-coded, as INSEE publishes
    medians = {code: v["median"] for code, v in values.items() if v["median"] is not None}
    assert all(m % 10 == 0 for m in medians.values())
    earlier = sample.values(territory, "2020")
    assert all(earlier[code]["median"] < median for code, median in medians.items())


@pytest.mark.parametrize("year", VINTAGES)
def test_sample_loads_through_the_real_path(tmp_path, mirror, territory, year):
    home = DataHome(tmp_path / "home").ensure()
    outcome = load_from_folder(home, mirror, SOURCE, year)
    assert outcome.status == "loaded", outcome.detail
    assert outcome.rows == {"communes": len(territory.geography(sample.GEOGRAPHY).actuelles)}


def test_both_forms_of_a_withheld_cell_read_empty(mirror, territory):
    secret = sorted(code for code, v in sample.values(territory, "2021").items() if v["median"] is None)
    for year in VINTAGES:
        frame, _ = read([zip_path(mirror, year)], year)["communes"]
        assert frame.columns == COLUMNS
        withheld = frame.filter(pl.col("CODGEO").is_in(secret))
        assert withheld.height == len(secret)
        assert all(withheld[c].null_count() == len(secret) for c in ("NBMENFISC", "MED", "TP60", "NBPERSMENFISC"))
        assert withheld["LIBGEO"].null_count() == 0


@pytest.mark.integration
def test_the_story_comes_out_of_staging(tmp_path, mirror, territory):
    home = DataHome(tmp_path / "home").ensure()
    for year in VINTAGES:
        assert load_from_folder(home, mirror, SOURCE, year).status == "loaded"
    result = dbt_build(home.work_db, tmp_path, f"path:models/staging/{SOURCE}")
    assert result.returncode == 0 and "WARN=0" in result.stdout, result.stdout[-3000:]
    for year in VINTAGES:
        staged = {
            code: (households, rate, median, secret)
            for code, households, rate, median, secret in query(
                home.work_db,
                "select commune_code, households, poverty_rate, median_living_standard, is_secret "
                f"from staging.stg_insee_filosofi__communes where vintage = '{year}'",
            )
        }
        expected = {
            code: (v["households"], v["poverty_rate"], v["median"], v["median"] is None)
            for code, v in sample.values(territory, year).items()
        }
        assert staged == expected


# ------------------------------------------------------------------------------ broken files


def _edit(change):
    """A change of the 2021 commune file as a frame of text columns, written back `;`-separated."""

    def mutate(data: bytes) -> bytes:
        return change(pl.read_csv(data, separator=";", infer_schema=False)).write_csv(separator=";").encode("utf-8")

    return mutate


BROKEN = [
    pytest.param(_edit(lambda f: f.drop("MED21")), None, ["column MED21 is missing"], id="missing-median"),
    pytest.param(_edit(lambda f: f.rename({c: c.replace("21", "20") for c in f.columns})), None,
                 ["incomes of 2020 (MED20), not 2021"], id="another-year"),
    pytest.param(_edit(lambda f: f.with_columns(pl.col("TP6021").str.replace(".", ",", literal=True))), None,
                 ["column TP60", "decimal comma"], id="decimal-comma"),
    pytest.param(_edit(lambda f: pl.concat([f, f.head(1)])), None, ["rows share their key"], id="duplicated-commune"),
    pytest.param(lambda b: b, "cc_filosofi_2021_DEP.csv", ["no commune file cc_filosofi_<year>_COM.csv"],
                 id="no-commune-member"),
    pytest.param(lambda b: b"\xff\xfe" + "é".encode("utf-16-le") * 3 + b"\x81", None, ["neither UTF-8 nor Windows-1252"],
                 id="not-text"),
]  # fmt: skip


@pytest.mark.parametrize(("mutate", "member", "expected"), BROKEN)
def test_broken_files_are_refused_and_nothing_is_lost(tmp_path, mirror, mutate, member, expected):
    home = DataHome(tmp_path / "home").ensure()
    assert load_from_folder(home, mirror, SOURCE, "2021").status == "loaded"
    rezip(mirror, "2021", mutate(commune_csv(mirror, "2021")), member)
    outcome = assert_refused_and_nothing_lost(home, mirror, SOURCE, "2021", *expected)
    assert SOURCE in outcome.detail and sample.FILES["2021"] in outcome.detail


def test_a_csv_given_alone_reads_like_the_zip(tmp_path, mirror):
    path = tmp_path / "cc_filosofi_2021_COM.csv"
    path.write_bytes(commune_csv(mirror, "2021"))
    alone, _ = read([path], "2021")["communes"]
    zipped, _ = read([zip_path(mirror, "2021")], "2021")["communes"]
    assert alone.equals(zipped)


def test_no_file_is_an_incomplete_vintage():
    with pytest.raises(IncompleteVintage, match=r"^insee_filosofi 2021: no Filosofi base communale"):
        read([], "2021")


# ------------------------------------------------------------------------------ reader properties

CODES = st.builds("{:02d}{:03d}".format, st.integers(1, 95).filter(lambda n: n != 20), st.integers(1, 999))
NAMES = st.text("abcdefghijklmnopqrstuvwxyzÉéèâçô' -", min_size=1, max_size=12).map(str.strip).filter(bool)
CELLS = st.one_of(st.integers(0, 99_999).map(str), st.sampled_from(["s", "nd", "ns", "", "12.5", "5"]))
ROWS = st.lists(st.tuples(CODES, NAMES, CELLS, CELLS, CELLS), min_size=1, max_size=6, unique_by=lambda r: r[0])
HEADER = ["CODGEO", "LIBGEO", "NBMENFISC21", "MED21", "TP6021", "PIMP21"]


def write_zip(rows, folder: Path, header=HEADER, extra_member: bool = False) -> Path:
    lines = [";".join(header)] + [";".join([*row, "50"]) for row in rows]
    path = folder / "base-cc-filosofi-2021-geo2024_csv.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("base/cc_filosofi_2021_COM.csv", ("\n".join(lines) + "\n").encode("utf-8"))
        if extra_member:
            archive.writestr("cc_filosofi_2021_DEP.csv", b"CODGEO;MED21\n71;20000\n")
    return path


def read_or_refusal(path: Path):
    try:
        frame, found = read([path], "2021")["communes"]
    except (ParseError, SourceError) as exc:
        assert path.name in str(exc), f"the refusal does not name the file: {exc}"
        return exc
    assert found == path and all(dtype == pl.Utf8 for dtype in frame.schema.values()), frame.schema
    return frame


def expected_values(rows) -> list[tuple]:
    def cell(value: str) -> str | None:
        return None if value.strip().lower() in ("s", "nd", "ns", "") else value

    return [(code, name, cell(a), cell(b), cell(c)) for code, name, a, b, c in rows]


def run(test, examples: int) -> None:
    settings(max_examples=examples, deadline=None, database=None,
             suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])(given(data=st.data())(test))()  # fmt: skip


def test_well_formed_files_read_back_as_written():
    def prop(data):
        rows, extra = data.draw(ROWS), data.draw(st.booleans())
        with tempfile.TemporaryDirectory() as tmp:
            frame = read_or_refusal(write_zip(rows, Path(tmp), extra_member=extra))
            assert isinstance(frame, pl.DataFrame), frame
            assert frame.select("CODGEO", "LIBGEO", "NBMENFISC", "MED", "TP60").rows() == expected_values(rows)

    run(prop, 40)


def test_broken_files_give_their_values_or_a_clear_refusal():
    def prop(data):
        rows = data.draw(ROWS)
        how = data.draw(st.sampled_from(["empty", "random", "truncated", "zip-truncated", "latin-1", "utf-16", "drop", "rename"]))
        with tempfile.TemporaryDirectory() as tmp:
            column = data.draw(st.sampled_from(HEADER[:5]))
            if how in ("drop", "rename"):
                header = [c if c != column else ("Z9_" + c if how == "rename" else "") for c in HEADER]
                path = write_zip(rows, Path(tmp), header)
            else:
                path = write_zip(rows, Path(tmp))
                member = zipfile.ZipFile(path).read("base/cc_filosofi_2021_COM.csv")
                original = path.read_bytes()
                if how == "empty":
                    broken = b""
                elif how == "random":
                    broken = data.draw(st.binary(min_size=1, max_size=300))
                elif how == "zip-truncated":
                    broken = cut_short(data, original)
                else:
                    if how == "truncated":
                        inner = cut_short(data, member)
                    else:
                        inner = member.decode("utf-8").encode(how, errors="replace")
                    buffer = io.BytesIO()
                    with zipfile.ZipFile(buffer, "w") as archive:
                        archive.writestr("base/cc_filosofi_2021_COM.csv", inner)
                    broken = buffer.getvalue()
                path.write_bytes(broken)
            outcome = read_or_refusal(path)
            if how in ("empty", "random", "zip-truncated", "utf-16") or (how in ("drop", "rename") and column != "LIBGEO"):
                assert isinstance(outcome, Exception), f"a file broken by '{how}' was read: {outcome}"
            if how in ("drop", "rename") and column != "LIBGEO":
                assert isinstance(outcome, ParseError) and column in str(outcome), outcome
            if how == "latin-1" and not isinstance(outcome, Exception):  # read as Windows-1252: the same text
                assert outcome.select("CODGEO", "LIBGEO", "NBMENFISC", "MED", "TP60").rows() == expected_values(rows)

    run(prop, 80)
