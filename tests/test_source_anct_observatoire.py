"""anct_observatoire: Observatoire des territoires CSV exports, one (dataset, indicator) per file."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from source_checks import assert_refused_and_nothing_lost, dbt_build, load_from_folder


from pipelines.sample import anct_observatoire as sample
from pipelines.sample import build_territory
from pipelines.settings import DataHome
from pipelines.sources.catalogue import get_source
from pipelines.sources.readers.anct_observatoire import parse_export, read, stack_values
from pipelines.sources.readers.common import ParseError

SOURCE = "anct_observatoire"
VINTAGE = sample.VINTAGE


# ------------------------------------------------------------------------------ real files


@pytest.mark.real_data
def test_parses_the_geoclip_exports_of_other_portals(real_data):
    # Same platform and layout (title lines, then Code;Libellé;…), several indicators side by
    # side, by bassin de vie 2022 rather than commune; secret values written "N/A - …".
    folder = real_data / "indicateurs-export"
    health = stack_values(parse_export((folder / "health.csv").read_bytes(), "health.csv"), "health.csv", "cartosante")
    assert health.height == 1_709 * 8
    assert health["INDIC"].n_unique() == 8 and health["codgeo"].n_unique() == 1_709

    def value(frame, code, indicator):
        return frame.filter((frame["codgeo"] == code) & (frame["INDIC"] == indicator))["VALEUR"].item()

    assert value(health, "01004", "APL Médecins généralistes 2023") == "3"
    assert value(health, "01004", "Part des bénéf. en ALD dans la pop 2024") == "N/A - secret statistique"
    assert value(health, "97611", "APL Médecins généralistes 2023") == "N/A - résultat non disponible"
    assert health.filter(health["VALEUR"] == "N/A - secret statistique").height == 157

    social = parse_export((folder / "social_determinants.csv").read_bytes(), "social_determinants.csv")
    assert social.columns[:2] == ["Code", "Libellé"] and social.height == 1_707
    ageing = stack_values(social, "social_determinants.csv", "insee_statistiques_locales")
    assert value(ageing, "01004", "Part des pers. âgées de 75 ans ou + 2022") == "8.4"
    assert value(ageing, "23008", "Part des pers. âgées de 75 ans ou + 2022") == "16"
    assert ageing.filter(ageing["codgeo"] == "23008")["libgeo"].unique().to_list() == ["Aubusson"]


@pytest.mark.real_data
def test_the_real_exports_are_read_at_the_level_their_title_says(real_data, tmp_path):
    folder = real_data / "indicateurs-export"
    files = []
    for name, dataset in (("health.csv", "cartosante"), ("social_determinants.csv", "statistiques_locales")):
        files.append(tmp_path / f"{dataset}.csv")  # a wide export: <dataset>.csv
        files[-1].write_bytes((folder / name).read_bytes())
    values = read(files, "2025")["values"][0]
    assert values["NIVGEO"].unique().to_list() == ["bassin_vie"]  # never taken for communes
    aubusson = {r["INDIC"]: (r["an"], r["VALEUR"]) for r in values.filter(values["codgeo"] == "23008").iter_rows(named=True)}
    assert aubusson["Taux de pauvreté 2021"] == ("2021", "21.5") and aubusson["APL Médecins généralistes 2023"] == ("2023", "3.6")
    assert set(values["DATASET"]) == {"cartosante", "statistiques_locales"}


@pytest.mark.parametrize(
    ("title", "level"),
    [
        ("Référentiel géographique : France par bassin de vie", "bassin_vie"),
        ("Référentiel géographique : France par zone d\u2019emploi", "zone_emploi"),
        ("Référentiel géographique : France par unités urbaines", "unite_urbaine"),
        ("Référentiel géographique : France par département", "departement"),
        ("Référentiel géographique : France par commune", None),
        (None, None),
    ],
)
def test_the_title_of_an_export_says_its_level(title, level):
    from pipelines.sources.readers.anct_observatoire import export_level

    head = f"CartoSanté; ; \n{title}; ; \n" if title else ""
    assert export_level((head + "Code;Libellé;Taux 2021\n01004;Ambérieu;3\n").encode(), "x.csv") == level


def test_an_export_at_an_unknown_level_is_refused(tmp_path):
    path = tmp_path / "cartosante.csv"
    path.write_text("CartoSanté; ; \nRéférentiel géographique : France par territoire de santé; ; \nCode;Libellé;Taux 2021\n01;Ain;3\n")
    with pytest.raises(ParseError, match="cartosante.csv: the export is at a level territoires does not know"):
        read([path], "2025")


def test_a_commune_export_with_codes_that_lost_their_zero_is_still_refused(tmp_path):
    path = tmp_path / "statistiques_locales.csv"
    path.write_text("Statistiques locales; ; \nRéférentiel géographique : France par commune; ; \nCode;Libellé;Taux 2021\n1004;Ambérieu;3\n")
    with pytest.raises(ParseError, match="leading zeros lost"):
        read([path], "2025")


# ------------------------------------------------------------------------------ sample


@pytest.fixture
def mirror(tmp_path) -> Path:
    folder = tmp_path / "mirror"
    assert sample.write(build_territory(), folder) == [VINTAGE]
    return folder


def _folder(mirror: Path) -> Path:
    return mirror / SOURCE / VINTAGE


def test_the_sample_files_are_the_catalogue_pairs(mirror):
    listed = {f.name for f in get_source(SOURCE).vintage(VINTAGE).files}
    assert {p.name for p in _folder(mirror).iterdir()} == listed


def test_sample_loads_every_pair_for_every_commune(tmp_path, mirror):
    home = DataHome(tmp_path / "home").ensure()
    outcome = load_from_folder(home, mirror, SOURCE, VINTAGE)
    assert outcome.status == "loaded", outcome.detail
    communes = len(build_territory().geography(VINTAGE).actuelles)
    assert outcome.rows == {"values": len(sample.PAIRS) * communes}


def test_the_reader_stacks_files_with_their_pair_level_and_hash(mirror):
    values, _ = read(sorted(_folder(mirror).iterdir()), VINTAGE)["values"]
    pairs = values.select("DATASET", "INDIC", "FILE_NAME").unique().sort("DATASET").rows()
    assert pairs == sorted((d, i, f"{d}__{i}.csv") for d, i in sample.PAIRS)
    assert values["NIVGEO"].unique().to_list() == ["com2025"]
    assert values["FILE_SHA256"].n_unique() == len(sample.PAIRS)
    frr = values.filter(values["INDIC"] == "codefrr")
    assert frr["an"].is_null().all() and frr.filter(frr["VALEUR"] == "-9999").height > 0


def test_other_dimension_columns_become_name_value_pairs(tmp_path):
    path = tmp_path / "indic_sex_rp__tx_chom1564.csv"
    path.write_text("codgeo;libgeo;an;sexe;tx_chom1564\n01001;A;2021;F;7.5\n01001;A;2021;H;-9999\n", encoding="utf-8")
    values, _ = read([path], "2025")["values"]
    assert values.select("an", "DIMENSIONS", "VALEUR").rows() == [("2021", "sexe=F", "7.5"), ("2021", "sexe=H", "-9999")]


# ------------------------------------------------------------------------------ broken files


def _drop_column(text: str, column: str) -> str:
    rows = [line.split(";") for line in text.splitlines()]
    position = rows[0].index(column)
    return "\n".join(";".join(r[:position] + r[position + 1 :]) for r in rows) + "\n"


FRR, ACCESS, AGEING = (f"{dataset}__{indicator}.csv" for dataset, indicator in sample.PAIRS)
BROKEN = [
    pytest.param(
        AGEING, lambda b: _drop_column(b.decode(), "libgeo").encode(), ["column libgeo is missing"], id="missing-column"
    ),
    pytest.param(
        FRR, lambda b: b.replace(b";codefrr\n", b";code_frr\n", 1),
        ["column codefrr (the indicator named by the file name) is missing"], id="renamed-indicator-column",
    ),
    pytest.param(
        AGEING, lambda b: b + b"1001;L'Abergement;2021;80.0\n", ["'1001'", "leading zeros lost?"], id="lost-leading-zero"
    ),
    pytest.param(ACCESS, lambda b: b.decode().encode("latin-1"), ["cannot be decoded as utf-8"], id="latin-1"),
    pytest.param(FRR, lambda b: b"", ["empty"], id="empty-file"),
    pytest.param(
        FRR, lambda b: b"France ruralit\xc3\xa9s revitalisation;;\n;;\n\n", ["no header line starting with codgeo"],
        id="title-lines-only",
    ),
    pytest.param(
        FRR, lambda b: b + b.splitlines()[1] + b"\n", ["key (DATASET, INDIC, NIVGEO, codgeo, an, DIMENSIONS)", "DATASET='frr'"],
        id="duplicated-row",
    ),
]


@pytest.mark.parametrize(("file_name", "mutate", "expected"), BROKEN)
def test_broken_files_are_refused(tmp_path, mirror, file_name, mutate, expected):
    home = DataHome(tmp_path / "home").ensure()
    assert load_from_folder(home, mirror, SOURCE, VINTAGE).status == "loaded"
    path = _folder(mirror) / file_name
    path.write_bytes(mutate(path.read_bytes()))
    assert_refused_and_nothing_lost(home, mirror, SOURCE, VINTAGE, file_name, *expected)


# ------------------------------------------------------------------------------ staging


def test_staging_turns_minus_9999_into_secret_nulls(tmp_path, mirror):
    home = DataHome(tmp_path / "home").ensure()
    assert load_from_folder(home, mirror, SOURCE, VINTAGE).status == "loaded"
    result = dbt_build(home.work_db, tmp_path, f"path:models/staging/{SOURCE}")
    assert result.returncode == 0, result.stdout[-3000:]
    territory = build_territory()
    communes = territory.geography(VINTAGE).actuelles
    with duckdb.connect(str(home.work_db), read_only=True) as con:
        summary = con.execute(
            "select indicator, count(*), count(value), count(*) filter (where is_secret), min(year), "
            "min(geography_level), count(distinct snapshot_sha256) "
            "from staging.stg_anct_observatoire__values group by 1 order by 1"
        ).fetchall()
        classified = con.execute(
            "select commune_code from staging.stg_anct_observatoire__values "
            "where indicator = 'codefrr' and not is_secret order by 1"
        ).fetchall()
    for indicator, rows, valued, secret, year, level, hashes in summary:
        published = [sample.value(territory, c, indicator) for c in communes]
        assert (rows, secret) == (len(communes), published.count(sample.NOT_A_VALUE))
        assert valued == rows - secret and level == "com2025" and hashes == 1
        assert year == (int(sample.YEARS[indicator]) if sample.YEARS[indicator] else None)
    assert [code for (code,) in classified] == sorted(c.code for c in communes if sample.frr_class(c) != "-9999")
