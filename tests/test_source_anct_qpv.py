"""anct_qpv: quartiers prioritaires, the communes they lie in and INSEE's statistics of each
(2015 layout, 2024 ANCT ZIP)."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import duckdb
import polars as pl
import pytest
import yaml
from source_checks import assert_refused_and_nothing_lost, dbt_build, load_from_folder

from pipelines.warehouse.ingestion import ingest_source
from pipelines.sample import build_territory
from pipelines.sample import anct_qpv as sample
from pipelines.settings import DataHome
from pipelines.sources.catalogue import get_source
from pipelines.sources.fetch import Fetcher
from pipelines.sources.readers import ParseError
from pipelines.sources.readers.anct_qpv import read
from pipelines.sources.snapshots import RawStore

SOURCE = "anct_qpv"
DBT_PROJECT = Path(__file__).resolve().parent.parent / "dbt_project"
MODELS_YML = DBT_PROJECT / "models" / "staging" / "anct_qpv" / "_anct_qpv__models.yml"


def statistic_columns() -> dict[str, str]:
    """{staging column: qp.csv column} of stg_anct_qpv__statistics, from its yml (meta.original_column)."""
    models = yaml.safe_load(MODELS_YML.read_text(encoding="utf-8"))["models"]
    (model,) = [m for m in models if m["name"] == "stg_anct_qpv__statistics"]
    return {c["name"]: c["config"]["meta"]["original_column"] for c in model["columns"] if "config" in c}


def ingest_by_hand(home: DataHome, folder: Path, vintage: str, names: list[str]):
    """Store files as a vintage's files given by hand, then parse, check and load the vintage."""
    store = RawStore(home.root)
    with Fetcher(store, offline=True) as fetcher:
        for name in names:
            fetcher.ingest_file(SOURCE, vintage, folder / name)
    with duckdb.connect(str(home.work_db)) as con:
        return ingest_source(con, store, None, get_source(SOURCE), [vintage]).vintages[0]


# ------------------------------------------------------------------------------ real files


@pytest.mark.real_data
def test_reads_the_occitanie_extract(real_data):
    folder = real_data / "qpv"
    frames = read([folder / "qp.geojson", folder / "qp.csv"], "2015")
    quartiers, quartiers_file = frames["quartiers"]
    communes, communes_file = frames["communes"]
    assert (quartiers_file.name, communes_file.name) == ("qp.csv", "qp.geojson")
    assert quartiers.height == 105 and communes.height == 105
    assert quartiers["pop_mun"].cast(int).sum() == 358_011
    statistics, statistics_file = frames["statistics"]
    assert statistics_file.name == "qp.csv" and statistics.height == 105
    # every column of the file but the QPV's and its communes' names, as published
    original = pl.read_csv(folder / "qp.csv", infer_schema=False)
    assert statistics.columns == [c for c in original.columns if c not in ("nom_qp", "nom_commune")]
    assert statistics.equals(original.drop("nom_qp", "nom_commune"))
    mirail = quartiers.filter(quartiers["code_qp"] == "QP031007").row(0, named=True)
    assert (mirail["lib_qp"], mirail["pop_mun"], mirail["insee_com"]) == ("Grand Mirail", "31691", "31555")
    # Tarbes Est spans Séméac and Tarbes; the extract's contours give Tarbes' code only.
    tarbes_est = quartiers.filter(quartiers["code_qp"] == "QP065003").row(0, named=True)
    assert tarbes_est["lib_com"] == "Séméac, Tarbes"
    assert communes.filter(communes["code_qp"] == "QP065003")["insee_com"].to_list() == ["65440"]
    assert communes["insee_com"].str.len_chars().unique().to_list() == [5]


@pytest.mark.real_data
def test_the_occitanie_extract_passes_validation_when_ingested_by_hand(tmp_path, real_data):
    home = DataHome(tmp_path / "home").ensure()
    outcome = ingest_by_hand(home, real_data / "qpv", "2015", ["qp.geojson", "qp.csv"])
    assert outcome.status == "loaded", outcome.detail
    assert outcome.rows == {"quartiers": 105, "communes": 105, "statistics": 105}


def test_every_statistic_of_the_file_has_a_documented_staging_column():
    header = [c for c in sample.STATISTICS_HEADER if c not in ("code_qp", "nom_qp", "nom_commune")]
    assert sorted(statistic_columns().values()) == sorted(header)
    assert get_source(SOURCE).entities["statistics"]["columns"] == ["code_qp", *header]


@pytest.mark.real_data
@pytest.mark.integration
def test_staging_statistics_equal_the_occitanie_file(tmp_path, real_data):
    home = DataHome(tmp_path / "home").ensure()
    assert ingest_by_hand(home, real_data / "qpv", "2015", ["qp.geojson", "qp.csv"]).status == "loaded"
    result = dbt_build(home.work_db, tmp_path, f"path:models/staging/{SOURCE}")
    assert result.returncode == 0, result.stdout[-3000:]
    with duckdb.connect(str(home.work_db), read_only=True) as con:
        staged = con.execute("select * from staging.stg_anct_qpv__statistics").pl()
    columns = statistic_columns()
    file = pl.read_csv(real_data / "qpv" / "qp.csv", infer_schema=False).select(
        pl.col("code_qp").alias("qpv_code"),
        *(pl.col(original).cast(pl.Float64).alias(name) for name, original in columns.items()),
    )
    staged = staged.select("qpv_code", *(pl.col(name).cast(pl.Float64) for name in columns))
    assert staged.height == file.height == 105 and set(staged["qpv_code"]) == set(file["qpv_code"])
    # a few known quartiers, every statistic
    known = {
        "QP031007": {"population": 31691},  # Grand Mirail, Toulouse
        "QP009001": {  # Coeur de Ville, Saint-Girons
            "population": 1177, "youth_index": 0.7, "poverty_rate": 40.2, "employment_rate": 50.7, "job_seekers": 255,
        },
        "QP009003": {"unemployment_income_households_share": 7.5, "low_income_rate": 58.1, "primary_schools": 5},
    }  # fmt: skip
    for code, values in known.items():
        row = staged.filter(pl.col("qpv_code") == code).row(0, named=True)
        assert row == file.filter(pl.col("qpv_code") == code).row(0, named=True)
        assert {name: row[name] for name in values} == values
    # the whole file: sums and counts of each statistic over the 105 QPV
    for name in columns:
        assert staged[name].null_count() == file[name].null_count(), name
        assert staged[name].sum() == pytest.approx(file[name].sum(), rel=1e-12), name
    assert staged["population"].sum() == 358_011 and staged["foreigners_precarious_employment_share"].null_count() == 45
    joined = staged.join(file, on="qpv_code", suffix="_file")
    for name in columns:
        differing = joined.filter(pl.col(name).ne_missing(pl.col(f"{name}_file")))
        assert differing.is_empty(), (name, differing.head(3).to_dicts())


# ------------------------------------------------------------------------------ sample


@pytest.fixture
def mirror(tmp_path) -> Path:
    folder = tmp_path / "mirror"
    assert sample.write(build_territory(), folder) == ["2015", "2024"]
    return folder


def test_sample_loads_every_qpv_and_commune_link(tmp_path, mirror):
    territory = build_territory()
    home = DataHome(tmp_path / "home").ensure()
    for generation in ("2015", "2024"):
        entries = sample.coded(territory, generation)
        outcome = load_from_folder(home, mirror, SOURCE, generation)
        assert outcome.status == "loaded", outcome.detail
        # The 2015 contours give one commune per QPV; the 2024 file every commune.
        links = len(entries) if generation == "2015" else sum(len(q.communes) for _, q in entries)
        assert outcome.rows == {"quartiers": len(entries), "communes": links, "statistics": len(entries)}


def test_a_qpv_spanning_two_communes_has_two_links_in_2024(mirror):
    territory = build_territory()
    frames = read([mirror / SOURCE / "2024" / sample.ZIP_NAME], "2024")
    communes, _ = frames["communes"]
    spanning = [(code, q) for code, q in sample.coded(territory, "2024") if len(q.communes) == 2]
    assert len(spanning) == 1
    code, quartier = spanning[0]
    assert communes.filter(communes["code_qp"] == code)["insee_com"].to_list() == ["69123", quartier.communes[1].code]
    quartiers, _ = frames["quartiers"]
    assert quartiers.filter(quartiers["code_qp"] == code)["insee_com"].to_list() == [f"69123, {quartier.communes[1].code}"]
    assert "pop_mun" not in quartiers.columns  # the ANCT contours carry no population


def test_insee_population_file_gives_the_2024_populations_and_unlisted_ones_stay_unknown(tmp_path, mirror):
    territory = build_territory()
    entries = sample.coded(territory, "2024")
    (first_code, first), (second_code, _) = entries[0], entries[1]
    populations = tmp_path / "pop_QPV24.csv"
    # INSEE's ';' layout; the second QPV is not listed.
    populations.write_text(f"CODGEO;LIBGEO;POP\n{first_code};{first.name};{first.population}\n", encoding="utf-8")
    quartiers, path = read([mirror / SOURCE / "2024" / sample.ZIP_NAME, populations], "2024")["quartiers"]
    by_code = dict(zip(quartiers["code_qp"], quartiers["pop_mun"]))
    assert path == populations and quartiers.height == len(entries)
    assert by_code[first_code] == str(first.population) and by_code[second_code] is None


def test_the_population_file_wins_over_the_statistics_population(tmp_path, mirror):
    territory = build_territory()
    (first_code, first), *_ = sample.coded(territory, "2024")
    populations = tmp_path / "pop_QPV24.csv"
    populations.write_text(f"CODGEO;POP\n{first_code};{first.population}\n", encoding="utf-8")
    folder = mirror / SOURCE / "2024"
    frames = read([folder / sample.ZIP_NAME, folder / sample.STATISTICS_NAME, populations], "2024")
    quartiers, path = frames["quartiers"]
    assert path == populations
    assert dict(zip(quartiers["code_qp"], quartiers["pop_mun"]))[first_code] == str(first.population)
    statistics, path = frames["statistics"]
    assert path.name == sample.STATISTICS_NAME and statistics["pop_mun"].null_count() == statistics.height


def test_a_population_file_without_known_columns_is_refused(tmp_path, mirror):
    populations = tmp_path / "pop_QPV24.csv"
    populations.write_text("quartier;habitants\nQN06901M;1200\n", encoding="utf-8")
    with pytest.raises(ParseError, match=r"pop_QPV24.csv: not INSEE's QPV population file: .*CODGEO.*POP_MUN"):
        read([mirror / SOURCE / "2024" / sample.ZIP_NAME, populations], "2024")


def test_the_national_member_is_chosen_among_the_territory_files(tmp_path):
    def collection(commune_code: str) -> str:
        properties = {"code_qp": "QN97401M", "lib_qp": "A", "insee_com": commune_code}
        return json.dumps({"type": "FeatureCollection", "features": [{"type": "Feature", "properties": properties}]})

    archive = tmp_path / "qpv.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("GEOJSON/QP2024_Reunion_WGS84.geojson", collection("97401"))
        handle.writestr(sample.NATIONAL_MEMBER, collection("97411"))
        handle.writestr("GEOJSON/QP2024_France_Hexagonale_WGS84.geojson", collection("97402"))
        handle.writestr("GEOJSON/QP2024_France_Hexagonale_Outre_Mer_LB93.geojson", collection("97403"))
    assert read([archive], "2024")["communes"][0]["insee_com"].to_list() == ["97411"]


# ------------------------------------------------------------------------------ broken files


def _rewrite_zip(path: Path, change) -> None:
    """Rewrite the national GeoJSON inside the ZIP with change(text) -> text."""
    with zipfile.ZipFile(path) as handle:
        text = handle.read(sample.NATIONAL_MEMBER).decode("utf-8")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as handle:
        handle.writestr(sample.NATIONAL_MEMBER, change(text))
    path.write_bytes(buffer.getvalue())


def _drop_csv_column(text: str, column: str) -> str:
    rows = list(csv.reader(io.StringIO(text)))
    position = rows[0].index(column)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(r[:position] + r[position + 1 :] for r in rows)
    return buffer.getvalue()


BROKEN = [
    pytest.param(
        "2015", "qp.csv", lambda b: _drop_csv_column(b.decode("utf-8-sig"), "pop_mun").encode(),
        ["qp.csv", "column pop_mun", "is missing"], id="missing-column",
    ),
    pytest.param(
        "2024", sample.ZIP_NAME, lambda t: t.replace('"insee_com"', '"code_insee"'),
        ["column insee_com is missing", "did the column get renamed?"], id="renamed-column",
    ),
    pytest.param(
        "2024", sample.ZIP_NAME, lambda t: t.replace('"insee_com": "2A004"', '"insee_com": "1053"'),
        ["'1053'", "leading zeros lost?"], id="lost-leading-zero",
    ),
    pytest.param(
        "2015", "qp.csv", lambda b: b.decode("utf-8-sig").encode("latin-1"),
        ["qp.csv", "cannot be decoded as utf-8"], id="latin-1-csv",
    ),
    pytest.param(
        "2015", "qp.geojson", lambda b: b.decode("utf-8").encode("latin-1"),
        ["qp.geojson", "not valid UTF-8 GeoJSON"], id="latin-1-geojson",
    ),
    pytest.param("2015", "qp.csv", lambda b: b"", ["qp.csv", "empty"], id="empty-file"),
    pytest.param(
        "2024", "qp.csv", lambda b: b.replace(b",38.5,", b",s,", 1),
        ["qp.csv", "column tx_tot_empl", "'s'"], id="secret-marker",
    ),
    pytest.param(
        "2024", "qp.csv", lambda b: b.replace(b",tp60,", b",tx_pauvrete,", 1),
        ["qp.csv", "column tp60 is missing"], id="renamed-statistic",
    ),
    pytest.param(
        "2015", "qp.csv", lambda b: b"\n".join(b.splitlines()[:-1]) + b"\n",
        ["do not list the same QPV", "only in the contours: QP02A001"], id="files-disagree",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("vintage", "file_name", "mutate", "expected"), BROKEN)
def test_broken_files_are_refused(tmp_path, mirror, vintage, file_name, mutate, expected):
    home = DataHome(tmp_path / "home").ensure()
    assert load_from_folder(home, mirror, SOURCE, vintage).status == "loaded"
    path = mirror / SOURCE / vintage / file_name
    if file_name.endswith(".zip"):
        _rewrite_zip(path, mutate)
    else:
        path.write_bytes(mutate(path.read_bytes()))
    assert_refused_and_nothing_lost(home, mirror, SOURCE, vintage, *expected)


# ------------------------------------------------------------------------------ staging


def test_staging_on_the_sample(tmp_path, mirror):
    home = DataHome(tmp_path / "home").ensure()
    for generation in ("2015", "2024"):
        assert load_from_folder(home, mirror, SOURCE, generation).status == "loaded"
    result = dbt_build(home.work_db, tmp_path, f"path:models/staging/{SOURCE}")
    assert result.returncode == 0, result.stdout[-3000:]
    territory = build_territory()
    with duckdb.connect(str(home.work_db), read_only=True) as con:
        quartiers = con.execute(
            "select vintage, count(*), sum(population), count(population) "
            "from staging.stg_anct_qpv__quartiers group by 1 order by 1"
        ).fetchall()
        spanning = con.execute(
            "select commune_code from staging.stg_anct_qpv__communes "
            "where vintage = '2024' and qpv_code = 'QN06904M' order by 1"
        ).fetchall()
    entries_2015 = sample.coded(territory, "2015")
    # One quartier has no population in the statistics: unknown, not 0.
    unknown = sample.without_population(territory)
    known = [q for _, q in entries_2015 if q != unknown]
    assert quartiers[0] == ("2015", len(entries_2015), sum(q.population for q in known), len(entries_2015) - 1)
    # The 2024 contours carry no population, nor the sample's 2024 statistics.
    assert quartiers[1] == ("2024", len(sample.coded(territory, "2024")), None, 0)
    assert len(spanning) == 2 and ("69123",) in spanning


def test_staging_statistics_tell_the_story(tmp_path, mirror):
    home = DataHome(tmp_path / "home").ensure()
    for generation in ("2015", "2024"):
        assert load_from_folder(home, mirror, SOURCE, generation).status == "loaded"
    result = dbt_build(home.work_db, tmp_path, f"path:models/staging/{SOURCE}")
    assert result.returncode == 0, result.stdout[-3000:]
    with duckdb.connect(str(home.work_db), read_only=True) as con:
        relation = con.sql("select * from staging.stg_anct_qpv__statistics")
        types = {name: str(dtype) for name, dtype in zip(relation.columns, relation.types)}
        staged = relation.pl()
    assert types["population"] == types["job_seekers"] == "INTEGER"
    assert types["poverty_rate"] == types["employment_rate"] == types["youth_index"] == "DOUBLE"
    territory = build_territory()
    tale = sample.statistics_story(territory)
    for generation in ("2015", "2024"):
        codes = {quartier: code for code, quartier in sample.coded(territory, generation)}
        rows = staged.filter(pl.col("vintage") == generation)
        assert rows.height == len(codes)

        def of(quartier: sample.Quartier) -> dict:
            return rows.filter(pl.col("qpv_code") == codes[quartier]).row(0, named=True)

        young, poorest, secret = of(tale.young_out_of_work), of(tale.poorest), of(tale.secret)
        # the most young people, and the lowest employment rate
        assert young["youth_index"] == sample.YOUNG_INDEX == rows["youth_index"].max()
        assert young["employment_rate"] == sample.LOW_EMPLOYMENT == rows["employment_rate"].min()
        assert poorest["poverty_rate"] == sample.HIGH_POVERTY == rows["poverty_rate"].max()
        # secret: not one statistic
        assert all(value is None for name, value in secret.items() if name in statistic_columns())
        known = rows.filter(pl.col("qpv_code") != codes[tale.secret])
        assert known["poverty_rate"].null_count() == 0 and (known["job_seekers"] > 0).all()
        # populations in 2015; in 2024 INSEE publishes them apart (not in the sample)
        if generation == "2015":
            populations = {code: quartier.population for quartier, code in codes.items() if quartier != tale.secret}
            assert dict(zip(known["qpv_code"], known["population"])) == populations
        else:
            assert rows["population"].null_count() == rows.height
