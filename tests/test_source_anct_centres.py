"""anct_centres: the communes of Action cœur de ville (ACV) and Petites villes de demain (PVD)."""

from __future__ import annotations

import csv
import io
import json
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import duckdb
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from byte_draws import BYTE_FAULTS, byte_fault
from source_checks import assert_refused_and_nothing_lost, dbt_build, load_from_folder

from pipelines.sample import anct_centres as sample
from pipelines.sample import build_territory
from pipelines.settings import DataHome
from pipelines.sources.catalogue import get_source
from pipelines.sources.errors import SourceError
from pipelines.sources.fetch import Fetcher
from pipelines.sources.readers.anct_centres import read
from pipelines.sources.readers.common import IncompleteVintage, ParseError
from pipelines.sources.snapshots import RawStore
from pipelines.warehouse.ingestion import ingest_source

SOURCE = "anct_centres"
REAL = Path("programmes-anct")
REAL_ACV = REAL / "coeurdeville.js"
REAL_ACV_GEOJSON = REAL / "coeurdeville.geojson"
REAL_PVD = REAL / "pvd_carte-interactive_20200122.csv"
PERSONAL = ("nom_maire", "mel_mairie", "site_mairie")
VINTAGES = [sample.PVD_FIRST_VINTAGE, sample.ACV_MAP_VINTAGE, sample.LISTS_VINTAGE]


def query(database: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(sql).fetchall()


def ingest_by_hand(home: DataHome, vintage: str, path: Path):
    """Ingest a real file by hand (as `territoires ingest`), then parse, validate and load it at national size."""
    store = RawStore(home.root)
    with Fetcher(store, offline=True) as fetcher, duckdb.connect(str(home.work_db)) as con:
        fetcher.ingest_file(SOURCE, vintage, path)
        return ingest_source(con, store, None, get_source(SOURCE), [vintage]).vintages[0]


# ------------------------------------------------------------------------------ real files


@pytest.mark.real_data
def test_reads_the_real_acv_map_of_april_2024(real_data):
    frame, path = read([real_data / REAL_ACV], "2024")["communes"]
    assert path.name == "coeurdeville.js"
    assert frame.columns == ["insee_com", "id_acv", "lib_com", "siren_epci", "pop", "programme"]
    assert frame.height == 244 and frame["insee_com"].n_unique() == 244
    assert set(frame["programme"]) == {"acv"}
    assert frame["insee_com"].str.contains(r"^([0-9]{2}|2[AB])[0-9]{3}$").all()
    by_code = {row["insee_com"]: row for row in frame.iter_rows(named=True)}
    assert (by_code["71153"]["id_acv"], by_code["71153"]["lib_com"]) == ("ACV109", "Le Creusot")
    assert by_code["71153"]["siren_epci"] == "247100290" and by_code["71153"]["pop"] == "20731"
    assert {c for c in by_code if c.startswith("71")} == {"71014", "71076", "71153", "71270", "71306"}
    assert "57132" not in by_code  # Château-Salins is PVD, not ACV
    assert by_code["15014"]["id_acv"] == by_code["15012"]["id_acv"] == "ACV017"  # Aurillac and Arpajon-sur-Cère, jointly
    # the codes starting with 0 (and the Corsican ones) are the 24 strings of the file: kept whole
    assert by_code["01004"]["lib_com"] == "Ambérieu-en-Bugey" and by_code["2A004"]["lib_com"] == "Ajaccio"
    without_wrapper, _ = read([real_data / REAL_ACV_GEOJSON], "2024")["communes"]
    assert without_wrapper.equals(frame)


@pytest.mark.real_data
def test_a_code_written_as_a_number_gets_its_leading_zero_back(tmp_path, real_data):
    text = (real_data / REAL_ACV).read_text("utf-8")
    assert '"insee_com": "01004"' in text
    path = tmp_path / "coeurdeville.js"
    path.write_text(text.replace('"insee_com": "01004"', '"insee_com": 1004'), "utf-8")
    frame, _ = read([path], "2024")["communes"]
    assert frame.filter(pl.col("lib_com") == "Ambérieu-en-Bugey")["insee_com"].to_list() == ["01004"]


@pytest.mark.real_data
def test_reads_the_real_first_pvd_list(real_data):
    frame, path = read([real_data / REAL_PVD], "2021")["communes"]
    assert path.name == "pvd_carte-interactive_20200122.csv"
    # the mayors' names and the town halls' e-mails are never read
    assert frame.columns == ["id_pvd", "insee_com", "lib_com", "pop", "date_signature", "siren_epci", "programme"]
    # 1,607 rows: 1,606 communes and the publisher's test row (999999), left out
    assert frame.height == 1_606 and frame["insee_com"].n_unique() == 1_606
    assert frame.filter(pl.col("insee_com") == "999999").is_empty()
    assert set(frame["programme"]) == {"pvd"}
    ids = dict(frame.select("insee_com", "id_pvd").iter_rows())
    assert ids["57132"] == ids["57177"] == "pvd-44-57-4"  # Château-Salins and Dieuze: a joint application
    assert ids["23001"] == "pvd-75-23-1"  # Ahun
    assert "71153" not in ids  # Le Creusot is ACV
    assert sum(code.startswith("71") for code in ids) == 24 and sum(code.startswith("57") for code in ids) == 11
    assert frame.filter(pl.col("id_pvd").is_null() | (pl.col("id_pvd") == "")).height == 585


@pytest.mark.real_data
@pytest.mark.integration
def test_real_lists_pass_validation_and_staging(tmp_path, real_data):
    home = DataHome(tmp_path / "home").ensure()
    for vintage, path, rows in (("2021", REAL_PVD, 1_606), ("2024", REAL_ACV, 244)):
        outcome = ingest_by_hand(home, vintage, real_data / path)
        assert outcome.status == "loaded", outcome.detail
        assert outcome.rows == {"communes": rows}
    columns = {name for (name,) in query(home.work_db, "select column_name from information_schema.columns "
                                                        "where table_name = 'anct_centres__communes'")}  # fmt: skip
    assert not columns & set(PERSONAL)
    result = dbt_build(home.work_db, tmp_path, f"path:models/staging/{SOURCE}")
    assert result.returncode == 0 and "WARN=0" in result.stdout, result.stdout[-3000:]
    rows = query(
        home.work_db,
        "select vintage, programme, count(*), count(programme_id), count(distinct programme_id), count(epci_code), "
        "count(population) from staging.stg_anct_centres__communes group by all order by 1",
    )
    # joint applications share an id: 874 PVD ids for 1,021 communes that have one, 230 ACV ids for 244
    assert rows == [("2021", "pvd", 1_606, 1_021, 874, 1_606, 1_606), ("2024", "acv", 244, 244, 230, 244, 244)]
    creusot = query(home.work_db, "select programme_id, commune_name, epci_code from staging.stg_anct_centres__communes "
                                  "where commune_code = '71153'")  # fmt: skip
    assert creusot == [("ACV109", "Le Creusot", "247100290")]


# ------------------------------------------------------------------------------ sample


@pytest.fixture(scope="module")
def territory():
    return build_territory()


@pytest.fixture(scope="module")
def sample_folder(tmp_path_factory, territory) -> Path:
    """The source's sample mirror, written once for the module (copy it before changing it)."""
    folder = tmp_path_factory.mktemp("anct_centres_sample")
    assert sample.write(territory, folder) == VINTAGES
    return folder


@pytest.fixture
def mirror(tmp_path, sample_folder) -> Path:
    target = tmp_path / "mirror"
    shutil.copytree(sample_folder, target)
    return target


def expected_rows(territory, vintage: str) -> int:
    acv = len(sample.acv_communes(territory))
    return {"2021": len(sample.pvd_ids(territory, "2021")), "2024": acv, "2025": acv + len(sample.pvd_ids(territory, "2025"))}[vintage]


def test_sample_files_are_named_as_the_catalogue_says(sample_folder):
    source = get_source(SOURCE)
    for vintage in VINTAGES:
        on_disk = sorted(p.name for p in (sample_folder / SOURCE / vintage).iterdir())
        assert on_disk == sorted(f.name for f in source.vintage(vintage).files)
    first = (sample_folder / SOURCE / "2021" / sample.PVD_FIRST_FILE).read_text("utf-8").splitlines()
    assert first[0] == ",".join(f'"{name}"' for name in sample.PVD_FIRST_HEADER)
    assert any(line.startswith('"pvd_0001","999999","Trifouilly-les-Oies"') for line in first)
    assert (sample_folder / SOURCE / "2024" / sample.ACV_MAP_FILE).read_text("utf-8").startswith("var JS_coeurdeville = {")


def test_the_story_of_the_sample(territory):
    by_code = {c.code: c for c in territory.geography(sample.GEOGRAPHY).actuelles}
    acv = sample.acv_communes(territory)
    assert sorted(c.departement for c in acv) == ["2A", "71", "71", "83", "974"]
    for departement, ranks in (("71", (1, 2)), ("2A", (1,)), ("974", (1,)), ("83", (1,))):
        by_size = sorted((c for c in by_code.values() if c.departement == departement), key=lambda c: -c.population)
        assert {by_size[r].code for r in ranks} <= {c.code for c in acv}
        assert by_size[0].code not in {c.code for c in acv}  # never the chef-lieu
    assert list(sample.acv_ids(territory).values()) == ["ACV001", "ACV002", "ACV003", "ACV004", "ACV005"]
    first, later = sample.pvd_ids(territory, "2021"), sample.pvd_ids(territory, "2025")
    assert set(first) < set(later) and len(later) == len(first) + 1
    for code in later:
        commune = by_code[code]
        assert commune.departement in ("71", "69", "2A", "83") and 2_000 <= commune.population <= 9_000
        assert commune.ctcd != "69M" and code not in sample.acv_ids(territory)
    shared = [pvd_id for pvd_id, n in Counter(later.values()).items() if n > 1]
    assert len(shared) == 1 and shared[0].startswith("pvd-27-71-")  # one joint application, in 71
    assert all(first[code] == "" for code in first if code.startswith("83"))
    assert all(pvd_id for code, pvd_id in first.items() if not code.startswith("83"))


@pytest.mark.parametrize("vintage", VINTAGES)
def test_sample_loads_through_the_real_path(tmp_path, mirror, territory, vintage):
    home = DataHome(tmp_path / "home").ensure()
    outcome = load_from_folder(home, mirror, SOURCE, vintage)
    assert outcome.status == "loaded", outcome.detail
    assert outcome.rows == {"communes": expected_rows(territory, vintage)}


def test_no_personal_column_reaches_the_raw_table(tmp_path, mirror):
    text = (mirror / SOURCE / "2021" / sample.PVD_FIRST_FILE).read_text("utf-8")
    assert "Maire fictif" in text and "@" in text  # the sample file has them
    frame, _ = read([mirror / SOURCE / "2021" / sample.PVD_FIRST_FILE], "2021")["communes"]
    assert not set(frame.columns) & set(PERSONAL)
    home = DataHome(tmp_path / "home").ensure()
    assert load_from_folder(home, mirror, SOURCE, "2021").status == "loaded"
    with duckdb.connect(str(home.work_db), read_only=True) as con:
        raw = con.execute('select * from raw."anct_centres__communes"').pl()
    assert not set(raw.columns) & set(PERSONAL)
    assert not any("@" in value or "Maire" in value for column in raw.select(pl.col(pl.Utf8)).iter_columns()
                   for value in column if value)  # fmt: skip


@pytest.mark.integration
def test_the_story_comes_out_of_staging(tmp_path, mirror, territory):
    home = DataHome(tmp_path / "home").ensure()
    for vintage in VINTAGES:
        assert load_from_folder(home, mirror, SOURCE, vintage).status == "loaded"
    result = dbt_build(home.work_db, tmp_path, f"path:models/staging/{SOURCE}")
    assert result.returncode == 0 and "WARN=0" in result.stdout, result.stdout[-3000:]
    staged = query(
        home.work_db,
        "select vintage, programme, commune_code, programme_id, epci_code, population, signature_date "
        "from staging.stg_anct_centres__communes order by all",
    )
    communes = {c.code: c for c in territory.geography(sample.GEOGRAPHY).actuelles}
    acv = sample.acv_ids(territory)
    first, lists = sample.pvd_ids(territory, "2021"), sample.pvd_ids(territory, "2025")
    assert [(c, i) for v, p, c, i, *_ in staged if (v, p) == ("2024", "acv")] == sorted(acv.items())
    assert [(c, i) for v, p, c, i, *_ in staged if (v, p) == ("2025", "acv")] == sorted(acv.items())
    assert [(c, i) for v, p, c, i, *_ in staged if (v, p) == ("2021", "pvd")] == sorted(
        (code, pvd_id or None) for code, pvd_id in first.items()
    )  # fmt: skip
    assert [(c, i) for v, p, c, i, *_ in staged if (v, p) == ("2025", "pvd")] == sorted(lists.items())
    for vintage, programme, code, _, epci, population, signed in staged:
        if vintage == "2025":  # the data.gouv.fr lists: dates in both forms, no EPCI nor population
            assert signed is not None and epci is None and population is None
        else:  # the ANCT maps: the EPCI's SIREN and the population
            assert (epci, population) == (communes[code].epci, communes[code].population) and signed is None


# ------------------------------------------------------------------------------ broken files


def _rewrite_csv(change):
    def mutate(data: bytes) -> bytes:
        return change(pl.read_csv(data, infer_schema=False)).write_csv().encode("utf-8")

    return mutate


BROKEN = [
    pytest.param("2021", sample.PVD_FIRST_FILE, _rewrite_csv(lambda f: f.drop("insee_com")),
                 ["column insee_com is missing"], id="first-list-without-insee_com"),
    pytest.param("2021", sample.PVD_FIRST_FILE, _rewrite_csv(lambda f: f.rename({"id_pvd": "identifiant"})),
                 ["column id_acv or id_pvd is missing", "identifiant"], id="first-list-renamed-id"),
    pytest.param("2021", sample.PVD_FIRST_FILE, lambda b: b.decode().encode("latin-1"),
                 ["cannot be decoded as utf-8"], id="first-list-latin-1"),
    pytest.param("2021", sample.PVD_FIRST_FILE, _rewrite_csv(lambda f: pl.concat([f, f.head(1)])),
                 ["rows share their key with another row"], id="first-list-duplicated-commune"),
    pytest.param("2024", sample.ACV_MAP_FILE, lambda b: b.replace(b'"id_acv"', b'"identifiant_acv"'),
                 ["column id_acv or id_pvd is missing"], id="map-renamed-id"),
    pytest.param("2024", sample.ACV_MAP_FILE, lambda b: b[: len(b) // 2], ["not valid UTF-8 GeoJSON"], id="map-truncated"),
    pytest.param("2024", sample.ACV_MAP_FILE, lambda b: b"var JS_coeurdeville = [];", ["expected a GeoJSON FeatureCollection"],
                 id="map-not-a-collection"),
    pytest.param("2025", sample.PVD_LIST_FILE, _rewrite_csv(lambda f: f.with_columns(pl.col("insee_com").str.slice(1))),
                 ["insee_com"], id="list-malformed-codes"),
    pytest.param("2025", sample.ACV_LIST_FILE, lambda b: b"", ["empty"], id="list-empty"),
]  # fmt: skip


@pytest.mark.parametrize(("vintage", "file_name", "mutate", "expected"), BROKEN)
def test_broken_files_are_refused_and_nothing_is_lost(tmp_path, mirror, vintage, file_name, mutate, expected):
    home = DataHome(tmp_path / "home").ensure()
    assert load_from_folder(home, mirror, SOURCE, vintage).status == "loaded"
    path = mirror / SOURCE / vintage / file_name
    path.write_bytes(mutate(path.read_bytes()))
    outcome = assert_refused_and_nothing_lost(home, mirror, SOURCE, vintage, *expected)
    assert SOURCE in outcome.detail and file_name in outcome.detail


def test_no_list_is_an_incomplete_vintage(tmp_path):
    with pytest.raises(IncompleteVintage, match=r"^anct_centres 2025: no programme list"):
        read([], "2025")


# ------------------------------------------------------------------------------ reader properties

CODES = st.one_of(
    st.sampled_from(["01004", "2A004", "2B033", "97411", "71153", "05061", "69123"]),
    st.builds("{:02d}{:03d}".format, st.integers(1, 95).filter(lambda n: n != 20), st.integers(1, 999)),
)
NAMES = st.text("abcdefghijklmnopqrstuvwxyzÉéèâçô' -,\"", min_size=1, max_size=12).map(str.strip).filter(bool)
ROWS = st.lists(
    st.tuples(CODES, NAMES, st.integers(0, 999).map(str), st.integers(1_000, 99_999).map(str)),
    min_size=1, max_size=6, unique_by=lambda r: r[0],
)  # fmt: skip
LAYOUTS = ["first", "acv_list", "pvd_list", "map"]


def records(layout: str, rows: list[tuple]) -> list[dict]:
    """The rows as the layout's records (column → value)."""
    if layout == "map":
        return [{"insee_com": int(code) if code.isdigit() else code, "id_acv": f"ACV{n}", "lib_com": name,
                 "pop": int(pop), "siren_epci": 200000000} for code, name, n, pop in rows]  # fmt: skip
    if layout == "first":
        return [{"id_pvd": f"pvd-{n}", "insee_com": code, "lib_com": name, "nom_maire": "Maire",
                 "mel_mairie": "mairie@x.example", "pop": pop, "siren_epci": "200000000"} for code, name, n, pop in rows]  # fmt: skip
    if layout == "acv_list":
        return [{"insee_com": code, "lib_com": name, "id_acv": f"ACV{n}", "lib_acv": name, "date_signature": "11-03-2024"}
                for code, name, n, _ in rows]  # fmt: skip
    return [{"insee_com": code, "lib_com": name, "id_pvd": f"pvd-{n}", "date_signature": "2021-03-12"}
            for code, name, n, _ in rows]  # fmt: skip


def write_layout(layout: str, rows: list[tuple], folder: Path, renamed: dict[str, str | None] | None = None) -> Path:
    """A small list in one of the layouts the reader documents; `renamed` renames columns (None drops one)."""
    renamed = renamed or {}
    written = [{renamed.get(k, k): v for k, v in record.items() if renamed.get(k, k) is not None}
               for record in records(layout, rows)]  # fmt: skip
    if layout == "map":
        features = [{"type": "Feature", "properties": r, "geometry": {"type": "Point", "coordinates": [5.0, 46.0]}}
                    for r in written]  # fmt: skip
        path = folder / "coeurdeville.js"
        text = "var JS_coeurdeville = " + json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False)
        path.write_bytes(text.encode("utf-8"))
        return path
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL if layout == "first" else csv.QUOTE_MINIMAL, lineterminator="\n")
    writer.writerow(list(written[0]))
    writer.writerows(list(r.values()) for r in written)
    path = folder / f"{layout}.csv"
    path.write_bytes(buffer.getvalue().encode("utf-8"))
    return path


def read_or_refusal(path: Path):
    """The communes the reader gives (text columns), or its refusal naming the file."""
    try:
        frame, found = read([path], "2025")["communes"]
    except (ParseError, SourceError) as exc:
        assert path.name in str(exc), f"the refusal does not name the file: {exc}"
        return exc
    assert found == path and all(dtype == pl.Utf8 for dtype in frame.schema.values()), frame.schema
    assert not set(frame.columns) & set(PERSONAL)
    return frame


def check_values(layout: str, rows: list[tuple], frame: pl.DataFrame) -> None:
    programme = "pvd" if layout in ("first", "pvd_list") else "acv"
    assert frame.select("insee_com", "lib_com").rows() == [(code, name) for code, name, _, _ in rows]
    assert set(frame["programme"]) == {programme}


def run(test, examples: int) -> None:
    settings(max_examples=examples, deadline=None, database=None,
             suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])(given(data=st.data())(test))()  # fmt: skip


def test_well_formed_lists_read_back_as_written():
    def prop(data):
        layout, rows = data.draw(st.sampled_from(LAYOUTS)), data.draw(ROWS)
        with tempfile.TemporaryDirectory() as tmp:
            frame = read_or_refusal(write_layout(layout, rows, Path(tmp)))
            assert isinstance(frame, pl.DataFrame), frame
            check_values(layout, rows, frame)

    run(prop, 40)


def test_broken_lists_give_their_values_or_a_clear_refusal():
    def prop(data):
        layout, rows = data.draw(st.sampled_from(LAYOUTS)), data.draw(ROWS)
        how = data.draw(st.sampled_from(["empty", "random", "truncated", "latin-1", "utf-16", "drop", "rename"]))
        identifier = "id_acv" if layout in ("map", "acv_list") else "id_pvd"
        column = data.draw(st.sampled_from(["insee_com", "lib_com", identifier]))
        with tempfile.TemporaryDirectory() as tmp:
            if how in ("drop", "rename"):
                path = write_layout(layout, rows, Path(tmp), {column: None if how == "drop" else f"Z9_{column}"})
            else:
                path = write_layout(layout, rows, Path(tmp))
                original = path.read_bytes()
                if how in BYTE_FAULTS:
                    broken = byte_fault(data, original, how)
                else:
                    broken = original.decode("utf-8").encode(how, errors="replace")
                path.write_bytes(broken)
            outcome = read_or_refusal(path)
            if how in ("empty", "random", "utf-16"):
                assert isinstance(outcome, Exception), f"a list broken by '{how}' was read: {outcome}"
            if how in ("drop", "rename"):  # a column the reader needs: refused, naming it
                assert isinstance(outcome, ParseError) and "is missing" in str(outcome) and column in str(outcome), outcome
            if how == "latin-1" and not isinstance(outcome, Exception):
                assert not any("\ufffd" in v for v in outcome["lib_com"] if v)
                check_values(layout, rows, outcome)

    run(prop, 80)
