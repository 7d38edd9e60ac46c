"""anct_qpv: quartiers prioritaires and the communes they lie in (2015 layout, 2024 ANCT ZIP)."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import duckdb
import pytest
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
    store = RawStore(home.root)
    with Fetcher(store, offline=True) as fetcher:
        for name in ("qp.geojson", "qp.csv"):
            fetcher.ingest_file(SOURCE, "2015", real_data / "qpv" / name)
    with duckdb.connect(str(home.work_db)) as con:
        outcome = ingest_source(con, store, None, get_source(SOURCE), ["2015"])
    assert outcome.vintages[0].status == "loaded", outcome.vintages[0].detail
    assert outcome.vintages[0].rows == {"quartiers": 105, "communes": 105}


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
        assert outcome.rows == {"quartiers": len(entries), "communes": links}


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
    # The 2024 contours carry no population.
    assert quartiers[1] == ("2024", len(sample.coded(territory, "2024")), None, 0)
    assert len(spanning) == 2 and ("69123",) in spanning
