"""insee_bpe: the BPE detail file and commune counts, their sample, refusals and staging."""

from __future__ import annotations

import io
import re
import shutil
import unicodedata
import zipfile
from pathlib import Path

import duckdb
import polars as pl
import pytest
from source_checks import dbt_build, assert_refused_and_nothing_lost, load_from_folder

from pipelines.warehouse.ingestion import frame_spec
from pipelines.quality import validate_frame
from pipelines.sample import insee_bpe as sample
from pipelines.sample.territory import build_territory
from pipelines.settings import DBT_PROJECT_DIR, DataHome
from pipelines.sources.catalogue import get_source
from pipelines.sources.readers.insee_bpe import EPSG_BY_DEPARTEMENT, epsg_of, read, read_commune_counts

SOURCE = "insee_bpe"
SEED = DBT_PROJECT_DIR / "seeds" / "bpe_equipment_types.csv"


def catalogue_failures(frame: pl.DataFrame, entity: str) -> list[str]:
    """What the catalogue's checks say about a frame (national row counts not enforced)."""
    report = validate_frame(
        frame.to_pandas(),
        frame_spec(get_source(SOURCE), entity, frame, sample=True),
        source=SOURCE, vintage="2021", file_name="real", entity=entity, raise_on_failure=False,
    )  # fmt: skip
    return list(report.failures)


# --------------------------------------------------------------------------------------------
# Real files (INSEE Trevas fixtures of BPE 2021, ../shared/data/real/bpe)
# --------------------------------------------------------------------------------------------


@pytest.mark.real_data
def test_real_detail_sample_is_read_but_its_layout_is_not_insee_s(real_data):
    path = real_data / "bpe" / "BPE_DETAIL_SAMPLE.csv"
    # The fixture's header is not the official one: a synthetic id, REF_YEAR instead of AN,
    # no QUALITE_XY, DCIRIS… Only DEPCOM, TYPEQU and the coordinates are comparable.
    header = path.read_text("utf-8").splitlines()[0]
    assert header == '"ID_EQUIPEMENT";"TYPEQU";"DEPCOM";"REF_YEAR";"LAMBERT_X";"LAMBERT_Y"'
    frame, _ = read([path], "2021")["equipments"]
    assert frame.columns == ["DEPCOM", "TYPEQU", "LAMBERT_X", "LAMBERT_Y"]
    assert frame.height == 20_000
    assert frame.row(0) == ("95607", "D401", "643379.5", "6880776")
    assert frame["DEPCOM"].n_unique() == 6_407
    assert frame.filter(pl.col("TYPEQU") == "D401").height == 752
    assert frame.filter(pl.col("DEPCOM") == "08001").height > 0  # leading zero kept
    ajaccio = frame.filter((pl.col("DEPCOM") == "2A004") & (pl.col("LAMBERT_X") == "1176469.61"))
    assert ajaccio.row(0) == ("2A004", "G102", "1176469.61", "6109070.19")
    # The comparable columns pass every check of the catalogue; only the absent ones fail.
    failures = catalogue_failures(frame, "equipments")
    assert len(failures) == 2 and all("is missing" in f for f in failures), failures
    assert any(f.startswith("column AN is missing") for f in failures)
    assert any(f.startswith("column QUALITE_XY is missing") for f in failures)


@pytest.mark.real_data
def test_real_coordinates_land_in_their_departement_with_the_epsg_table(real_data):
    frame, _ = read([real_data / "bpe" / "BPE_DETAIL_SAMPLE.csv"], "2021")["equipments"]
    points = frame.with_columns(epsg_of(pl.col("DEPCOM")).alias("epsg"))
    con = duckdb.connect()
    con.execute("load spatial")
    located = con.execute(
        """
        select left(DEPCOM, 3) as prefix, epsg, st_x(p) as lon, st_y(p) as lat
        from (
            select DEPCOM, epsg, st_transform(
                st_point(LAMBERT_X::double, LAMBERT_Y::double), 'EPSG:' || epsg, 'EPSG:4326', always_xy := true
            ) as p
            from points
            where left(DEPCOM, 3) in ('971', '972', '973', '974') or left(DEPCOM, 2) in ('2A', '2B', '95')
        )
        """
    ).pl()
    boxes = {  # lon_min, lon_max, lat_min, lat_max
        "971": (-61.9, -61.0, 15.8, 16.6), "972": (-61.3, -60.8, 14.3, 14.9), "973": (-54.7, -51.5, 2.1, 5.8),
        "974": (55.2, 55.9, -21.4, -20.8), "2A": (8.5, 9.6, 41.3, 43.1), "2B": (8.5, 9.6, 41.3, 43.1),
        "95": (1.6, 2.6, 48.9, 49.3),
    }  # fmt: skip
    assert set(located["prefix"].str.slice(0, 2)) >= {"97", "2A", "2B", "95"}
    for prefix, (lon_min, lon_max, lat_min, lat_max) in boxes.items():
        rows = located.filter(pl.col("prefix").str.starts_with(prefix))
        assert rows.height > 0, prefix
        assert rows["lon"].is_between(lon_min, lon_max).all(), (prefix, rows.sort("lon"))
        assert rows["lat"].is_between(lat_min, lat_max).all(), (prefix, rows.sort("lat"))


@pytest.mark.real_data
def test_real_dictionary_backs_the_dated_mapping(real_data):
    dictionary = pl.read_csv(real_data / "bpe" / "types_categories.csv", separator=";", infer_schema=False)
    names = dict(dictionary.select("id", "name").iter_rows())
    assert len(names) == 187
    seed = pl.read_csv(SEED, infer_schema=False)
    in_2021 = seed.filter(pl.col("last_vintage").is_null() | (pl.col("last_vintage").cast(pl.Int32) >= 2021))
    in_2021 = in_2021.filter(pl.col("first_vintage").is_null() | (pl.col("first_vintage").cast(pl.Int32) <= 2021))

    def first_word(text: str) -> str:
        ascii_text = unicodedata.normalize("NFKD", text.upper()).encode("ascii", "ignore").decode()
        return re.findall(r"[A-Z]+", ascii_text)[0]

    for typequ, label in in_2021.select("typequ", "label_fr").iter_rows():
        assert typequ in names, f"{typequ} is mapped for 2021 but absent from the 2021 dictionary"
        assert first_word(label) == first_word(names[typequ]), (typequ, label, names[typequ])
    assert names["D201"] == "MÉDECIN GÉNÉRALISTE" and names["D307"] == "PHARMACIE"
    assert (names["A206"], names["A207"], names["A208"]) == ("BUREAU DE POSTE", "RELAIS POSTE", "AGENCE POSTALE")
    assert names["E107"].endswith("NATIONAL") and names["E109"].endswith("LOCAL")
    # The recast codes did not exist in 2021, and the older pharmacy code was gone.
    recast = seed.filter(pl.col("first_vintage") == "2023")["typequ"].to_list()
    assert {"D265", "B207", "B105"} <= set(recast)
    assert not any(code in names for code in [*recast, "D301"])


@pytest.mark.real_data
def test_real_count_fixture_layout_is_refused_by_name(real_data):
    frame = read_commune_counts(real_data / "bpe" / "BPE_TOWN_SAMPLE.csv", "insee_bpe 2021 BPE_TOWN_SAMPLE.csv")
    # SDMX-style names (REF_AREA, NB_EQPMT): neither INSEE's DS_BPE nor its older count files.
    assert "TYPEQU" in frame.columns and frame.height == 199
    failures = catalogue_failures(frame, "commune_counts")
    assert any(f.startswith("column DEPCOM is missing") for f in failures)
    assert any(f.startswith("column NB_EQUIP is missing") for f in failures)


# --------------------------------------------------------------------------------------------
# The sample
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def territory():
    return build_territory()


@pytest.fixture(scope="module")
def mirror(tmp_path_factory, territory) -> Path:
    folder = tmp_path_factory.mktemp("bpe_mirror")
    assert sample.write(territory, folder) == ["2021", "2024"]
    return folder


@pytest.fixture(scope="module")
def loaded_home(tmp_path_factory, mirror) -> DataHome:
    """A data home holding the good 2021 and 2024 sample vintages."""
    home = DataHome(tmp_path_factory.mktemp("bpe_home")).ensure()
    for vintage in ("2021", "2024"):
        outcome = load_from_folder(home, mirror, SOURCE, vintage)
        assert outcome.status == "loaded", outcome.detail
    return home


@pytest.fixture(scope="module")
def parsed(mirror) -> dict[str, dict[str, pl.DataFrame]]:
    folder = mirror / SOURCE
    return {
        vintage: {entity: frame for entity, (frame, _) in read(sorted((folder / vintage).iterdir()), vintage).items()}
        for vintage in ("2021", "2024")
    }


def test_sample_matches_the_catalogue_and_is_deterministic(tmp_path, territory, mirror):
    catalogue = get_source(SOURCE)
    for vintage in ("2021", "2024"):
        written = sorted(p.name for p in (mirror / SOURCE / vintage).iterdir())
        assert written == sorted(f.name for f in catalogue.vintage(vintage).files)
    sample.write(territory, tmp_path)
    for path in (mirror / SOURCE).rglob("*.*"):
        assert (tmp_path / path.relative_to(mirror)).read_bytes() == path.read_bytes(), path.name
    with zipfile.ZipFile(mirror / SOURCE / "2024" / "DS_BPE_CSV_FR.zip") as archive:
        assert archive.namelist() == ["DS_BPE_2024_data.csv", "DS_BPE_2024_metadata.csv"]


def test_sample_loads_every_equipment_of_both_vintages(loaded_home, territory):
    with duckdb.connect(str(loaded_home.work_db), read_only=True) as con:
        loads = dict(
            con.execute(
                "select vintage || '/' || entity, rows from meta.raw_loads where source = ? order by 1", [SOURCE]
            ).fetchall()
        )
    plan_2024 = sample.equipment_plan(territory, "2024")
    communes_2024 = plan_2024.with_columns(pl.col("DEPCOM").str.replace(r"^6938\d$", "69123"))
    arrondissements = plan_2024.filter(pl.col("DEPCOM").str.starts_with("6938"))
    assert loads == {
        "2021/equipments": sample.equipment_plan(territory, "2021").height,
        "2024/equipments": plan_2024.height,
        "2024/commune_counts": communes_2024.unique(["DEPCOM", "TYPEQU"]).height
        + arrondissements.unique(["DEPCOM", "TYPEQU"]).height,
    }


def test_sample_tells_its_story(parsed, territory):
    old, new = parsed["2021"]["equipments"], parsed["2024"]["equipments"]
    population = {p.code: p.population for p in sample.sample_places(territory)}
    has = {
        (vintage, typequ): set(frame.filter(pl.col("TYPEQU") == typequ)["DEPCOM"])
        for vintage, frame in (("2021", old), ("2024", new))
        for typequ in ("D201", "D265", "D307", "D401", "E107", "E108", "E109")
    }
    # GP: D201 in 2021, D265 in 2024; no GP in villages; one commune lost its only GP.
    assert has["2021", "D265"] == set() and has["2024", "D201"] == set()
    assert all(population[c] >= 900 for c in has["2021", "D201"])
    assert sum(1 for p in population.values() if p < 900) > 50
    lost = sample.lost_gp_commune(territory)
    assert has["2021", "D201"] - has["2024", "D265"] == {lost}
    assert old.filter((pl.col("DEPCOM") == lost) & (pl.col("TYPEQU") == "D201")).height == 1
    # A GP but no pharmacy; EHPAD in small towns (2021; no verified 2024 code, so none written).
    assert has["2021", "D201"] - has["2021", "D307"]
    assert any(population[c] < 5000 for c in has["2021", "D401"]) and has["2024", "D401"] == set()
    # Stations, none in La Réunion; Lyon's equipment sits in its arrondissements.
    assert has["2021", "E107"] == {"71270", "69382", "69383"}
    stations = has["2021", "E107"] | has["2021", "E108"] | has["2021", "E109"]
    assert stations and not any(c.startswith("974") for c in stations)
    assert "69123" not in set(old["DEPCOM"]) and any(c.startswith("6938") for c in old["DEPCOM"])
    # One restaurant without coordinates.
    unlocated = old.filter(pl.col("LAMBERT_X").is_null())
    assert unlocated.select("DEPCOM", "TYPEQU", "QUALITE_XY").rows() == [("71270", "A504", "Non géolocalisé")]


def test_sample_points_are_projected_near_their_town_hall(parsed, territory):
    places = sample.sample_places(territory)
    town_halls = pl.DataFrame(
        [(p.code, p.lon, p.lat) for p in places], schema=["DEPCOM", "hall_lon", "hall_lat"], orient="row"
    )
    frames = []
    for vintage, frame in parsed.items():
        located = frame["equipments"].filter(pl.col("LAMBERT_X").is_not_null())
        frames.append(located.select("DEPCOM", "LAMBERT_X", "LAMBERT_Y", pl.lit(vintage).alias("vintage")))
    points = pl.concat(frames).join(town_halls, on="DEPCOM").with_columns(
        epsg_of(pl.col("DEPCOM")).alias("epsg")
    )
    con = duckdb.connect()
    con.execute("load spatial")
    back = con.execute(
        """
        select vintage, epsg, st_x(p) - hall_lon as dlon, st_y(p) - hall_lat as dlat
        from (
            select *, st_transform(
                st_point(LAMBERT_X::double, LAMBERT_Y::double), 'EPSG:' || epsg, 'EPSG:4326', always_xy := true
            ) as p
            from points
        )
        """
    ).pl()
    assert set(back["epsg"]) == {2154, 2975}
    assert back["dlon"].abs().max() < 0.03 and back["dlat"].abs().max() < 0.03  # within ~2 km
    # The 2024 file also carries WGS84 coordinates: they agree with the projected ones.
    recent = parsed["2024"]["equipments"].filter(pl.col("LAMBERT_X").is_not_null())
    assert set(recent["EPSG"]) == {"2154", "2975"}
    check = con.execute(
        """
        select max(abs(st_x(p) - LONGITUDE::double)) as dlon, max(abs(st_y(p) - LATITUDE::double)) as dlat
        from (
            select *, st_transform(
                st_point(LAMBERT_X::double, LAMBERT_Y::double), 'EPSG:' || EPSG, 'EPSG:4326', always_xy := true
            ) as p
            from recent
        )
        """
    ).fetchone()
    assert max(check) < 1e-5


def test_sample_counts_drop_totals_and_agree_with_the_detail(parsed, mirror):
    counts = parsed["2024"]["commune_counts"]
    assert set(counts["GEO_OBJECT"]) == {"COM", "ARM"}
    assert counts["TYPEQU"].str.contains(r"^[A-Z][0-9]{3}$").all()
    with zipfile.ZipFile(mirror / SOURCE / "2024" / "DS_BPE_CSV_FR.zip") as archive:
        published = pl.read_csv(archive.read("DS_BPE_2024_data.csv"), separator=";", infer_schema=False)
    assert {"_T", "DEP"} <= set(published["FACILITY_TYPE"]) | set(published["GEO_OBJECT"])
    detail = parsed["2024"]["equipments"].group_by("DEPCOM", "TYPEQU").len("n")
    arm = counts.filter(pl.col("GEO_OBJECT") == "ARM").select(
        "DEPCOM", "TYPEQU", pl.col("NB_EQUIP").cast(pl.UInt32).alias("n")
    )
    in_lyon = detail.filter(pl.col("DEPCOM").str.starts_with("6938"))
    assert arm.sort("DEPCOM", "TYPEQU").equals(in_lyon.sort("DEPCOM", "TYPEQU"))
    com = counts.filter(pl.col("GEO_OBJECT") == "COM")
    assert com["NB_EQUIP"].cast(pl.Int64).sum() == parsed["2024"]["equipments"].height
    lyon = com.filter(pl.col("DEPCOM") == "69123")["NB_EQUIP"].cast(pl.Int64).sum()
    assert lyon == arm["n"].sum()


def test_seed_periods_never_overlap_for_a_code():
    seed = pl.read_csv(SEED, infer_schema=False).with_columns(
        pl.col("first_vintage").cast(pl.Int32).fill_null(0), pl.col("last_vintage").cast(pl.Int32).fill_null(9999)
    )
    assert seed["typequ"].str.contains(r"^[A-G][0-9]{3}$").all()
    assert seed["basis"].is_not_null().all()
    for year in range(2015, 2027):
        valid = seed.filter((pl.col("first_vintage") <= year) & (pl.col("last_vintage") >= year))
        assert valid["typequ"].is_unique().all(), year
    gp = seed.filter(pl.col("equipment") == "gp")

    def gp_code(year: int) -> list[str]:
        return gp.filter((pl.col("first_vintage") <= year) & (pl.col("last_vintage") >= year))["typequ"].to_list()

    assert [gp_code(year) for year in (2021, 2022, 2023, 2025)] == [["D201"], ["D201"], ["D265"], ["D265"]]


def test_staging_epsg_table_is_the_readers():
    sql = (DBT_PROJECT_DIR / "models" / "staging" / SOURCE / "stg_insee_bpe__equipments.sql").read_text()
    pairs = {prefix: int(code) for prefix, code in re.findall(r"when '(\d{3})' then (\d{4})", sql)}
    assert pairs == EPSG_BY_DEPARTEMENT
    assert "else 2154" in sql


# --------------------------------------------------------------------------------------------
# Broken files are refused and nothing is lost
# --------------------------------------------------------------------------------------------


def rewrite_zip_member(path: Path, mutate) -> None:
    """Replace the data CSV of a zip with mutate(its bytes)."""
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    data = next(name for name in members if name.endswith(("_xy.csv", "_data.csv")))
    members[data] = mutate(members[data])
    path.write_bytes(sample.zip_bytes(members))


def csv_text(change):
    return lambda data: change(data.decode("utf-8")).encode("utf-8")


def header_only(data: bytes) -> bytes:
    return data.split(b"\n", 1)[0] + b"\n"


def add_row_without_leading_zero(data: bytes) -> bytes:
    lines = data.decode("utf-8").splitlines()
    header, first = lines[0].split(";"), lines[1].split(";")
    first[header.index("DEPCOM")] = "1001"
    return ("\n".join([*lines, ";".join(first)]) + "\n").encode("utf-8")


def parquet(change):
    def mutate(path: Path) -> None:
        frame = change(pl.read_parquet(path))
        buffer = io.BytesIO()
        frame.write_parquet(buffer)
        path.write_bytes(buffer.getvalue())

    return mutate


def in_zip(mutate):
    return lambda path: rewrite_zip_member(path, mutate)


BROKEN = {
    "2021-missing-column": (
        "2021", "bpe21_ensemble_xy_csv.zip",
        in_zip(csv_text(lambda t: t.replace(";QUALITE_XY;", ";QUALITE;", 1))),
        ["column QUALITE_XY is missing"],
    ),
    "2021-renamed-column": (
        "2021", "bpe21_ensemble_xy_csv.zip",
        in_zip(csv_text(lambda t: t.replace(";TYPEQU;", ";TYPE_EQU;", 1))),
        ["column TYPEQU is missing", "'TYPE_EQU'", "renamed"],
    ),
    "2021-lost-leading-zero": (
        "2021", "bpe21_ensemble_xy_csv.zip", in_zip(add_row_without_leading_zero), ["'1001'", "leading zeros lost"],
    ),
    "2021-latin-1": (
        "2021", "bpe21_ensemble_xy_csv.zip",
        in_zip(lambda data: data.decode("utf-8").encode("latin-1")),
        ["cannot be decoded as UTF-8", "encoding"],
    ),
    "2021-header-only": ("2021", "bpe21_ensemble_xy_csv.zip", in_zip(header_only), ["no data rows"]),
    "2021-empty-file": ("2021", "bpe21_ensemble_xy_csv.zip", lambda path: path.write_bytes(b""), ["empty"]),
    "2024-missing-column": (
        "2024", "BPE24.parquet", parquet(lambda f: f.drop("LAMBERT_X")), ["column LAMBERT_X is missing"],
    ),
    "2024-lost-leading-zero": (
        "2024", "BPE24.parquet",
        parquet(lambda f: pl.concat([f, f.head(1).with_columns(pl.lit("1001").alias("DEPCOM"))])),
        ["'1001'", "leading zeros lost"],
    ),
    "2024-truncated-parquet": (
        "2024", "BPE24.parquet",
        lambda path: path.write_bytes(path.read_bytes()[: path.stat().st_size // 2]),
        ["cannot"],
    ),
    "2024-counts-missing-column": (
        "2024", "DS_BPE_CSV_FR.zip",
        in_zip(csv_text(lambda t: t.replace(";OBS_VALUE", ";VALUE", 1))),
        ["lacks column(s) OBS_VALUE"],
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BROKEN), ids=list(BROKEN))
def test_broken_files_are_refused_and_nothing_is_lost(tmp_path, mirror, loaded_home, case):
    vintage, file_name, mutate, expected = BROKEN[case]
    broken = tmp_path / "mirror"
    shutil.copytree(mirror / SOURCE / vintage, broken / SOURCE / vintage)
    mutate(broken / SOURCE / vintage / file_name)
    assert_refused_and_nothing_lost(loaded_home, broken, SOURCE, vintage, file_name, *expected)


# --------------------------------------------------------------------------------------------
# Staging on the sample (dbt, own target path)
# --------------------------------------------------------------------------------------------


def test_staging_and_mapping_on_the_sample(tmp_path, loaded_home, territory):
    database = tmp_path / "warehouse.duckdb"
    shutil.copy(loaded_home.work_db, database)
    result = dbt_build(
        database, tmp_path, f"path:models/staging/{SOURCE}", "bpe_equipment_types", "int_bpe_equipments_mapped",
        "int_bpe_commune_counts", "test_name:bpe_points_match_insee_counts",
    )
    assert result.returncode == 0, result.stdout[-3000:]
    lost = sample.lost_gp_commune(territory)
    with duckdb.connect(str(database), read_only=True) as con:
        columns = {row[0]: row[1] for row in con.execute("describe staging.stg_insee_bpe__equipments").fetchall()}
        assert columns == {
            "vintage": "VARCHAR", "commune_code": "VARCHAR", "iris_code": "VARCHAR", "typequ": "VARCHAR",
            "x": "DOUBLE", "y": "DOUBLE", "epsg": "INTEGER", "longitude": "DOUBLE", "latitude": "DOUBLE",
            "quality": "VARCHAR", "reference_year": "INTEGER", "snapshot_sha256": "VARCHAR",
        }  # fmt: skip
        epsg = dict(con.execute(
            "select vintage || '/' || coalesce(epsg::varchar, 'none'), count(*) from staging.stg_insee_bpe__equipments "
            "where commune_code like '974%' or x is null group by 1"
        ).fetchall())  # fmt: skip
        assert set(epsg) == {"2021/2975", "2024/2975", "2021/none", "2024/none"}  # derived in 2021, read in 2024
        gp = dict(con.execute(
            "select vintage, count(*) from intermediate.int_bpe_equipments_mapped where equipment = 'gp' group by 1"
        ).fetchall())  # fmt: skip
        plans = {v: sample.equipment_plan(territory, v) for v in ("2021", "2024")}
        plan = {v: frame.filter(pl.col("equipment") == "gp").height for v, frame in plans.items()}
        assert gp == plan and gp["2021"] == gp["2024"] + 1
        assert con.execute(
            "select list(distinct vintage || ':' || typequ order by 1) from intermediate.int_bpe_equipments_mapped "
            "where equipment = 'gp' and commune_code = ?", [lost]
        ).fetchone()[0] == ["2021:D201"]  # fmt: skip
        counts = con.execute(
            "select geo_level, sum(equipment_count) from staging.stg_insee_bpe__commune_counts group by 1 order by 1"
        ).fetchall()
        lyon = plans["2024"].filter(pl.col("DEPCOM").str.starts_with("6938")).height
        assert counts == [("ARM", lyon), ("COM", plans["2024"].height)]
        # Counted once: Lyon by its whole-city rows, its arrondissements dropped.
        once = con.execute(
            "select sum(equipment_count), count(*) filter (where commune_code like '6938%'), "
            "sum(equipment_count) filter (where commune_code = '69123') from intermediate.int_bpe_commune_counts"
        ).fetchone()
        assert once == (plans["2024"].height, 0, lyon)
    # The detail file's points and INSEE's counts agree, commune by commune and type by type.
    assert re.search(r"\bPASS bpe_points_match_insee_counts\b", result.stdout), result.stdout[-2000:]
