"""finess: FINESS's geolocated establishments stock and its social and medico-social equipment.

No real FINESS file is in ../shared/data/real: the layout is tested against the field lists
the catalogue confirms (DREES's notice etalab_cs1100507: 32-field structureet lines, 6-field
geolocalisation lines) and against lines of the May 2026 extraction quoted verbatim in
public code (REAL_LINES: the structureet lines are those of the stock without coordinates,
which the geolocated stock repeats, and a geolocalisation line). The bundled sample loads
through the real path, its story comes out of staging, broken files are refused without
losing what was stored, and a hypothesis property test checks the reader on generated files.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from byte_draws import BYTE_FAULTS, byte_fault
from source_checks import assert_refused_and_nothing_lost, dbt_build, load_from_folder

from pipelines.sample import finess as sample
from pipelines.sample.territory import build_territory
from pipelines.settings import DataHome
from pipelines.sources.catalogue import get_source
from pipelines.sources.readers.common import IncompleteVintage, ParseError
from pipelines.sources.readers.finess import EQUIPMENT_FIELDS, QUOTED, STRUCTURE_FIELDS, read

SOURCE, VINTAGE = "finess", sample.VINTAGE
STOCK, EQUIPMENT = sample.STOCK_FILE, sample.EQUIPMENT_FILE
REAL_LINES = (
    "finess;etalab;111;2026-05-12",
    "structureet;010000024;010780054;CH DE FLEYRIAT;CENTRE HOSPITALIER DE BOURG-EN-BRESSE FLEYRIAT;;;900;RTE;DE PARIS;;;451;01;AIN;01440 VIRIAT;0474454647;0474454114;355;Centre Hospitalier (C.H.);1102;Centres Hospitaliers;26010004500012;8610Z;03;ARS établissements Publics de santé dotation globale;1;Etablissement public de santé;1979-02-13;1979-02-13;2020-02-04;",
    "structureet;970102018;970113015;PMI SAINT BARTHELEMY;PMI SAINT BARTHELEMY;PMI CMS DE GUSTAVIA;;4;R;AUGUST NYMAN;;;123;9A;GUADELOUPE;97133 ST BARTHELEMY;0590276027;;223;Protection Maternelle et Infantile (P.M.I.);2202;Etablissements de PMI et de Planification Familiale;;;01;Etablissement Tarif Libre;;;1964-01-01;1964-01-01;2019-02-15;",
    "structureet;970302287;970302022;E.H.P.A.D. EDMAR LAMA DE CAYENNE;E.H.P.A.D. DU CENTRE HOSPITALIER DE CAYENNE;;;;AV;ALEXIS BLAISE;;BP 6006;302;9C;GUYANE;97306 CAYENNE CEDEX;0594395050;0594305150;500;Etablissement d'hébergement pour personnes âgées dépendantes;4401;Etablissements d'Hébergement pour Personnes Âgées;;8710A;40;ARS/PCD, Tarif global, habilité aide sociale, recours PUI;;;1988-05-02;2017-01-03;2024-04-22;",
    "structureet;970400024;970408589;CHU SITE FELIX GUYON (SAINT DENIS);CHU SITE FELIX GUYON (SAINT DENIS);;;;ALL;DES TOPAZES;;CS 11021;411;9D;LA REUNION;97405 ST DENIS CEDEX;0262905050;0262905051;101;Centre Hospitalier Régional (C.H.R.);1101;Centres Hospitaliers Régionaux;20003001300011;8610Z;03;ARS établissements Publics de santé dotation globale;1;Etablissement public de santé;1957-07-01;1957-07-01;2023-11-13;",
    'structureet;980501506;980501498;"LIEU DE VIE ""MAVOUNA MEMA 1""";"LIEU DE VIE ET D\'ACCUEIL ""MAVOUNA MEMA 1""";ASSOCIATION MESSO;;12;R;ANCIEN TERRAIN DE FOOT;;;606;9F;MAYOTTE;97620 CHIRONGUI;0269666815;;462;Lieux de Vie et d\'Accueil;4605;Etablissements et services multi-clientèles;82967998400015;;08;Président du Conseil Départemental;;;2019-04-01;2019-03-18;2025-05-07;',
    "structureet;980600027;980600019;HOPITAL DE SIA;;;;;;;;BP 4 - MATA'UTU;613;9J;WALLIS ET FUTUNA;98600 UVEA;;;355;Centre Hospitalier (C.H.);1102;Centres Hospitaliers;13000323900014;;99;Indéterminé;1;Etablissement public de santé;2024-10-30;2024-10-30;2024-10-30;",
    "geolocalisation;010000024;870262.2;6571540.8;1,ATLASANTE,96,BAN,EPSG:2154 RGF93 / Lambert-93 (Métropole);2026-05-04",
)  # fmt: skip
ESTABLISHMENT_COLUMNS = [
    "nofinesset", "nofinessej", "rs", "rslongue", "commune", "departement", "libdepartement", "ligneacheminement",
    "categetab", "libcategetab", "categagretab", "libcategagretab", "siret", "dateouv", "dateautor", "datemaj",
    "coordxet", "coordyet", "sourcecoordet", "datemaj_geolocalisation", "extraction_date",
]  # fmt: skip


def query(database: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(database), read_only=True) as con:
        con.execute("load spatial")
        return con.execute(sql).fetchall()


def field_count(line: str) -> int:
    return re.sub(QUOTED, "", line).count(";") + 1


# ------------------------------------------------------------------------------ the sample


@pytest.fixture(scope="module")
def territory():
    return build_territory()


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory, territory) -> Path:
    folder = tmp_path_factory.mktemp("finess_mirror")
    assert sample.write(territory, folder) == [VINTAGE]
    return folder


@pytest.fixture(scope="module")
def frames(sample_dir) -> dict[str, pl.DataFrame]:
    files = sorted((sample_dir / SOURCE / VINTAGE).iterdir())
    return {entity: frame for entity, (frame, _) in read(files, VINTAGE).items()}


@pytest.fixture
def mirror(tmp_path, sample_dir) -> Path:
    """A private copy of the sample mirror, to break."""
    shutil.copytree(sample_dir, tmp_path / "mirror")
    return tmp_path / "mirror"


def test_sample_files_are_named_as_the_catalogue_says_and_never_change(sample_dir, territory, tmp_path):
    assert [f.name for f in get_source(SOURCE).vintage(VINTAGE).files] == [STOCK, EQUIPMENT]
    assert sorted(p.name for p in (sample_dir / SOURCE / VINTAGE).iterdir()) == sorted([STOCK, EQUIPMENT])
    sample.write(territory, tmp_path)
    for name in (STOCK, EQUIPMENT):
        first, again = ((root / SOURCE / VINTAGE / name).read_bytes() for root in (sample_dir, tmp_path))
        assert hashlib.sha256(first).digest() == hashlib.sha256(again).digest(), name


def test_sample_stock_is_in_the_documented_layout(sample_dir):
    lines = (sample_dir / SOURCE / VINTAGE / STOCK).read_text("utf-8").split("\n")
    assert re.fullmatch(r"finess;etalab;[0-9]+;[0-9]{4}-[0-9]{2}-[0-9]{2}", lines[0]) and lines[-1] == ""
    kinds = [line.split(";", 1)[0] for line in lines[1:-1]]
    # every structureet line, then every geolocalisation line
    assert kinds == sorted(kinds, key=["structureet", "geolocalisation"].index)
    for line in lines[1:-1]:
        assert field_count(line) == (32 if line.startswith("structureet;") else 6), line
        if line.startswith("structureet;"):
            assert line.endswith(";")  # the empty UAI number, as in REAL_LINES
    assert {field_count(line) for line in REAL_LINES[1:-1]} == {len(STRUCTURE_FIELDS) + 1} == {32}
    assert field_count(REAL_LINES[-1]) == 6


def test_sample_equipment_is_in_the_layout_read(sample_dir):
    lines = (sample_dir / SOURCE / VINTAGE / EQUIPMENT).read_text("utf-8").splitlines()
    assert lines[0].startswith("finess;etalab;")
    assert {field_count(line) for line in lines if line.startswith("structureet;")} == {3}
    equipment = [line.split(";") for line in lines if line.startswith("equipementsocial;")]
    assert equipment and all(len(fields) > max(EQUIPMENT_FIELDS.values()) for fields in equipment)
    assert {fields[EQUIPMENT_FIELDS["indsupinst"]] for fields in equipment} == {"N", "O"}


def test_reader_joins_each_establishment_with_its_geolocation(frames, territory):
    establishments = frames["establishments"]
    assert establishments.columns == ESTABLISHMENT_COLUMNS
    assert all(dtype == pl.Utf8 for dtype in establishments.dtypes)
    written = sample.establishments(territory)
    assert establishments["nofinesset"].to_list() == [row["nofinesset"] for row in written]
    chief = establishments.filter((pl.col("categetab") == "355") & (pl.col("departement") == "9D")).row(0, named=True)
    assert (chief["commune"], chief["libdepartement"], chief["categagretab"]) == ("411", "LA REUNION", "1102")
    assert chief["sourcecoordet"].endswith("EPSG:2975 RGR92/UTM Zone 40S (Réunion)")
    assert (chief["datemaj_geolocalisation"], chief["extraction_date"]) == ("2026-05-04", "2026-05-12")
    unplaced = establishments.filter(pl.col("coordxet").is_null())
    assert unplaced["commune"].to_list() == [sample.ungeolocated(territory)[-3:]]
    assert unplaced.select("coordyet", "sourcecoordet", "datemaj_geolocalisation").null_count().row(0) == (1, 1, 1)
    assert 'PHARMACIE "DU CENTRE"' in establishments["rs"].to_list()


def test_reader_reads_the_capacities_by_position(frames, territory):
    capacities = frames["capacities"]
    assert capacities.columns == list(EQUIPMENT_FIELDS)
    expected = sample.capacities(territory)
    assert capacities.height == len(expected)
    assert capacities.select("nofinesset", "de", "ta", "client", "capinstot", "indsupinst").rows() == [
        (line["nofinesset"], line["de"], line["ta"], line["client"], line["capinstot"], line["indsupinst"])
        for line in expected
    ]


def test_real_lines_read_to_their_values(tmp_path):
    path = tmp_path / STOCK
    path.write_bytes(("\n".join(REAL_LINES) + "\n").encode("utf-8"))
    (frame, _), = read([path], VINTAGE).values()
    rows = {row["nofinesset"]: row for row in frame.iter_rows(named=True)}
    fleyriat = rows["010000024"]
    assert (fleyriat["commune"], fleyriat["departement"], fleyriat["categetab"], fleyriat["siret"]) == (
        "451", "01", "355", "26010004500012"
    )  # fmt: skip
    assert (fleyriat["coordxet"], fleyriat["coordyet"], fleyriat["dateouv"]) == ("870262.2", "6571540.8", "1979-02-13")
    assert rows["980501506"]["rs"] == 'LIEU DE VIE "MAVOUNA MEMA 1"'
    assert rows["980600027"]["rslongue"] is None and rows["980600027"]["departement"] == "9J"
    assert [rows[code]["coordxet"] for code in rows if code != "010000024"] == [None] * 5


def test_windows_1252_and_crlf_read_the_same(sample_dir, tmp_path, frames):
    text = (sample_dir / SOURCE / VINTAGE / STOCK).read_text("utf-8")
    path = tmp_path / STOCK
    path.write_bytes(text.replace("\n", "\r\n").encode("cp1252"))
    assert read([path], VINTAGE)["establishments"][0].equals(frames["establishments"])


def test_no_stock_among_the_files_is_an_incomplete_vintage(sample_dir):
    with pytest.raises(IncompleteVintage, match=r"^finess 2026: no FINESS establishments stock"):
        read([sample_dir / SOURCE / VINTAGE / EQUIPMENT], VINTAGE)


def test_a_vintage_without_the_equipment_file_has_no_capacities(sample_dir):
    assert set(read([sample_dir / SOURCE / VINTAGE / STOCK], VINTAGE)) == {"establishments"}


def _edit_lines(kind: str, change):
    """Change the lines of one kind of a file's text."""

    def mutate(data: bytes) -> bytes:
        lines = data.decode("utf-8").split("\n")
        return "\n".join(change(line) if line.startswith(kind + ";") else line for line in lines).encode("utf-8")

    return mutate


def _twice_geolocated(data: bytes) -> bytes:
    text = data.decode("utf-8")
    return (text + next(line for line in text.split("\n") if line.startswith("geolocalisation;")) + "\n").encode()


BROKEN_STOCKS = [
    pytest.param(
        _edit_lines("structureet", lambda line: line.rsplit(";", 2)[0] + ";"),
        ["line 2 (structureet) has 31 fields", "layout has 32"], id="field-dropped",
    ),
    pytest.param(_edit_lines("structureet", lambda line: line + "X;"), ["has 33 fields"], id="field-added"),
    pytest.param(
        _edit_lines("structureet", lambda line: "structure" + line[len("structureet") :]), ["no structureet line"],
        id="no-structureet-line",
    ),
    pytest.param(lambda b: b[: len(b) // 3], ["fields", "cut short"], id="truncated"),
    pytest.param(_twice_geolocated, ["several geolocalisation lines"], id="geolocated-twice"),
    pytest.param(
        _edit_lines("geolocalisation", lambda line: line.replace(".", ",", 1)), ["column coordxet", "decimal comma"],
        id="decimal-comma",
    ),
    pytest.param(lambda b: b.decode().encode("utf-16"), ["UTF-16"], id="utf-16"),
    pytest.param(lambda b: b"", ["empty"], id="empty"),
]  # fmt: skip


@pytest.mark.parametrize(("mutate", "expected"), BROKEN_STOCKS)
def test_broken_stocks_are_refused_and_nothing_is_lost(tmp_path, mirror, mutate, expected):
    home = DataHome(tmp_path / "home").ensure()
    assert load_from_folder(home, mirror, SOURCE, VINTAGE).status == "loaded"
    path = mirror / SOURCE / VINTAGE / STOCK
    path.write_bytes(mutate(path.read_bytes()))
    outcome = assert_refused_and_nothing_lost(home, mirror, SOURCE, VINTAGE, STOCK, *expected)
    assert outcome.detail.startswith(f"{SOURCE} {VINTAGE}")


BROKEN_EQUIPMENT = [
    pytest.param(
        _edit_lines("equipementsocial", lambda line: ";".join(line.split(";")[:20])),
        ["has 20 fields, fewer than the 25"], id="short-line",
    ),
    pytest.param(
        _edit_lines("equipementsocial", lambda line: line.replace(";N;", ";NON;", 1)), ["column indsupinst"],
        id="unknown-flag",
    ),
    pytest.param(
        lambda b: b.replace(b"equipementsocial;", b"equipement;"), ["no equipementsocial line"], id="no-equipment-line"
    ),
]  # fmt: skip


@pytest.mark.parametrize(("mutate", "expected"), BROKEN_EQUIPMENT)
def test_broken_equipment_files_are_refused_and_nothing_is_lost(tmp_path, mirror, mutate, expected):
    home = DataHome(tmp_path / "home").ensure()
    assert load_from_folder(home, mirror, SOURCE, VINTAGE).status == "loaded"
    path = mirror / SOURCE / VINTAGE / EQUIPMENT
    path.write_bytes(mutate(path.read_bytes()))
    outcome = assert_refused_and_nothing_lost(home, mirror, SOURCE, VINTAGE, EQUIPMENT, *expected)
    assert outcome.detail.startswith(f"{SOURCE} {VINTAGE}")


# ------------------------------------------------------------------------------ staging


@pytest.fixture(scope="module")
def staged(tmp_path_factory, sample_dir) -> Path:
    """The sample loaded and the finess staging models built (their tests passed)."""
    work = tmp_path_factory.mktemp("finess_staging")
    home = DataHome(work / "home").ensure()
    outcome = load_from_folder(home, sample_dir, SOURCE, VINTAGE)
    assert outcome.status == "loaded", outcome.detail
    assert outcome.notes == ["1 of 183 establishments have no coordinates"]
    result = dbt_build(home.work_db, work, f"path:models/staging/{SOURCE}")
    assert result.returncode == 0 and "WARN=0" in result.stdout, result.stdout[-3000:]
    return home.work_db


@pytest.mark.integration
def test_staging_tells_the_hospital_story(staged, territory):
    story = sample.story(territory)
    hospitals = query(
        staged, "select commune_code, category_code from staging.stg_finess__establishments where is_hospital"
    )
    categories = {"ch": "355", "proximity": "106", "chr": "101"}
    expected = [(code, category) for kind, category in categories.items() for code in story[kind]]
    assert sorted(hospitals) == sorted(expected)
    assert ("69384", "101") in hospitals and ("71046", "106") in hospitals and ("83039", "106") in hospitals


@pytest.mark.integration
def test_staging_counts_ehpad_and_residences_by_commune(staged, territory):
    story = sample.story(territory)
    rows = query(
        staged,
        "select commune_code, count(*) filter (where is_ehpad), count(*) filter (where is_residence_autonomie), "
        "count(*) filter (where category_code = '620') from staging.stg_finess__establishments group by 1",
    )
    ehpad = {code: n for code, n, _, _ in rows if n}
    assert ehpad == {code: story["ehpad"].count(code) for code in set(story["ehpad"])}
    assert all(ehpad[c.code] >= 1 for c in sample.places(territory) if c.population >= 5_000)
    assert sorted(code for code, _, n, _ in rows if n) == story["residence"]
    assert sum(n for *_, n in rows) == len(story["pharmacy"])


@pytest.mark.integration
def test_staging_places_establishments_in_wgs84_from_their_zone(staged, territory):
    rows = query(
        staged,
        "select finess_code, departement_code, commune_code, epsg, longitude, latitude, postal_code "
        "from staging.stg_finess__establishments",
    )
    written = {row["nofinesset"]: row for row in sample.establishments(territory)}
    for finess, departement, commune, epsg, longitude, latitude, postal in rows:
        row = written[finess]
        assert commune == sample.insee_code(row) and postal == row["ligneacheminement"][:5]
        assert departement == commune[: 3 if commune.startswith("97") else 2]
        if row["lon"] is None:
            assert (epsg, longitude, latitude) == (None, None, None)
            continue
        assert epsg == (2975 if departement == "974" else 2154)
        assert abs(longitude - row["lon"]) < 1e-5 and abs(latitude - row["lat"]) < 1e-5


@pytest.mark.integration
def test_staging_capacities_count_only_installed_places(staged, territory):
    expected: dict[str, int] = {}
    for line in sample.capacities(territory):
        counted = int(line["capinstot"]) if line["indsupinst"] == "N" else 0
        expected[line["nofinesset"]] = expected.get(line["nofinesset"], 0) + counted
    places = dict(query(staged, "select finess_code, sum(places) from staging.stg_finess__capacities group by 1"))
    assert places == expected
    removed = query(
        staged, "select installed_places, places from staging.stg_finess__capacities where is_installation_removed"
    )
    assert removed == [(10, 0)]
    orphans = query(
        staged,
        "select count(*) from staging.stg_finess__capacities as c left join staging.stg_finess__establishments as e "
        "using (vintage, finess_code) where not (e.is_ehpad or e.is_residence_autonomie) or e.finess_code is null",
    )
    assert orphans == [(0,)]


@pytest.mark.integration
def test_real_lines_map_overseas_departements_and_project_lambert_93(tmp_path):
    folder = tmp_path / "mirror" / SOURCE / VINTAGE
    folder.mkdir(parents=True)
    (folder / STOCK).write_bytes(("\n".join(REAL_LINES) + "\n").encode("utf-8"))
    home = DataHome(tmp_path / "home").ensure()
    outcome = load_from_folder(home, tmp_path / "mirror", SOURCE, VINTAGE)
    assert outcome.status == "loaded" and outcome.rows == {"establishments": 6}, outcome.detail
    result = dbt_build(home.work_db, tmp_path, f"path:models/staging/{SOURCE}")
    assert result.returncode == 0, result.stdout[-3000:]
    rows = {
        row[0]: row[1:]
        for row in query(
            home.work_db,
            "select finess_code, commune_code, departement_code, is_hospital, is_ehpad, epsg, longitude, latitude "
            "from staging.stg_finess__establishments",
        )
    }
    assert {code: values[:5] for code, values in rows.items()} == {
        "010000024": ("01451", "01", True, False, 2154),
        "970102018": ("97123", "971", False, False, None),
        "970302287": ("97302", "973", False, True, None),
        "970400024": ("97411", "974", True, False, None),
        "980501506": ("97606", "976", False, False, None),
        "980600027": ("98613", "986", True, False, None),
    }  # fmt: skip
    longitude, latitude = rows["010000024"][5:]
    assert abs(longitude - 5.209) < 0.01 and abs(latitude - 46.222) < 0.01  # Viriat, beside Bourg-en-Bresse


# ------------------------------------------------------------------------------ properties of the reader

NAME_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdeéèêàçôÉ0123456789 '-;\"/()."
NAMES = st.text(NAME_CHARS, min_size=1, max_size=20).map(str.strip).filter(bool)
CODES = st.from_regex(r"[0-9][0-9AB][0-9]{7}", fullmatch=True)
DECIMALS = st.builds("{}.{}".format, st.integers(0, 9_999_999), st.integers(0, 9))


@st.composite
def stocks(draw) -> list[dict]:
    """Establishments of a small stock: structure fields by name, and their point (or none)."""
    codes = draw(st.lists(CODES, min_size=1, max_size=6, unique=True))
    rows = []
    for code in codes:
        rows.append({
            "nofinesset": code, "nofinessej": draw(CODES), "rs": draw(NAMES), "rslongue": draw(st.none() | NAMES),
            "commune": draw(st.from_regex(r"[0-9]{3}", fullmatch=True)),
            "departement": draw(st.sampled_from(["01", "2A", "71", "9A", "9D", "9J"])),
            "categetab": draw(st.sampled_from(["101", "106", "202", "355", "500", "620"])),
            "categagretab": draw(st.from_regex(r"[0-9]{4}", fullmatch=True)), "libcategetab": draw(NAMES),
            "dateouv": draw(st.dates().map(str)),
            "point": draw(st.none() | st.tuples(DECIMALS, DECIMALS, NAMES)),
        })  # fmt: skip
    return rows


def stock_bytes(rows: list[dict], encoding: str, newline: str) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator=newline)
    buffer.write("finess;etalab;111;2026-05-12" + newline)
    for row in rows:
        writer.writerow(["structureet", *(row.get(name) or "" for name in STRUCTURE_FIELDS)])
    for row in rows:
        if row["point"]:
            writer.writerow(["geolocalisation", row["nofinesset"], *row["point"], "2026-05-04"])
    return buffer.getvalue().encode(encoding)


def read_or_refusal(path: Path) -> pl.DataFrame | ParseError:
    try:
        return read([path], VINTAGE)["establishments"][0]
    except ParseError as exc:
        assert path.name in str(exc), str(exc)
        return exc


PROPERTY = settings(
    max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@PROPERTY
@given(rows=stocks(), encoding=st.sampled_from(["utf-8", "cp1252"]), newline=st.sampled_from(["\n", "\r\n"]))
def test_well_formed_stocks_read_back_as_written(tmp_path, rows, encoding, newline):
    path = tmp_path / STOCK
    path.write_bytes(stock_bytes(rows, encoding, newline))
    frame = read([path], VINTAGE)["establishments"][0]
    assert frame.select("nofinesset", "rs", "rslongue", "commune", "departement", "categetab", "dateouv").rows() == [
        (r["nofinesset"], r["rs"], r["rslongue"], r["commune"], r["departement"], r["categetab"], r["dateouv"])
        for r in rows
    ]
    points = frame.select("coordxet", "coordyet", "sourcecoordet").rows()
    assert points == [r["point"] or (None, None, None) for r in rows]


@PROPERTY
@given(rows=stocks(), data=st.data())
def test_broken_stocks_give_their_values_or_a_refusal_naming_the_file(tmp_path, rows, data):
    original = stock_bytes(rows, "utf-8", "\n")
    how = data.draw(st.sampled_from(["random", "truncated", "overwritten", "latin-1", "utf-16", "dropped", "renamed"]))
    if how in BYTE_FAULTS:
        broken = byte_fault(data, original, how)
    elif how in ("latin-1", "utf-16"):
        broken = original.decode("utf-8").encode(how)
    else:
        field = data.draw(st.integers(1, len(STRUCTURE_FIELDS)))

        def change(line: str) -> str:
            if how == "renamed":
                return "structure" + line[len("structureet") :]
            fields = next(csv.reader([line], delimiter=";"))
            return _csv_line(fields[:field] + fields[field + 1 :])

        broken = _edit_lines("structureet", change)(original)
    path = tmp_path / STOCK
    path.write_bytes(broken)
    outcome = read_or_refusal(path)
    if how in ("utf-16", "dropped", "renamed") or (how == "random" and b"structureet;" not in broken):
        assert isinstance(outcome, ParseError), f"a stock broken by '{how}' was read"
    if isinstance(outcome, ParseError):
        return
    assert outcome.columns == ESTABLISHMENT_COLUMNS
    assert not any("\ufffd" in (value or "") for column in outcome.iter_columns() for value in column.to_list())
    if how in ("latin-1", "truncated"):
        written = {r["nofinesset"]: r for r in rows}
        assert set(outcome["nofinesset"]) <= set(written)
        assert all(rs == written[code]["rs"] for code, rs in outcome.select("nofinesset", "rs").rows())


def _csv_line(fields: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=";", lineterminator="").writerow(fields)
    return buffer.getvalue()
