"""insee_sirene: the establishments stock, filtered in DuckDB to active cafés, restaurants and shops.

No real Sirene file sits in ../shared/data/real (INDEX.md: not found), so everything here runs
on the sample stock of the fictitious territory, in data.gouv.fr's Parquet and INSEE's ZIP.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from source_checks import dbt_build, assert_refused_and_nothing_lost, load_from_folder

from pipelines.sample.insee_sirene import (
    COLUMNS,
    FILE_NAME,
    SOURCE,
    VINTAGE,
    establishments,
    story,
    write,
    write_stock_zip,
)
from pipelines.sample.territory import build_territory
from pipelines.settings import DataHome
from pipelines.sources.catalogue import CatalogueError, get_source
from pipelines.sources.readers.common import ParseError
from pipelines.sources.readers.insee_sirene import DEFAULT_NAF_CODES, STOCK_COLUMNS, naf_codes_for, read

ZIP_VINTAGE = "2026-10"  # the catalogue lists the dated ZIP of the CSV for this month
ZIP_NAME = "StockEtablissement_utf8.zip"


@pytest.fixture(scope="module")
def territory():
    return build_territory()


@pytest.fixture(scope="module")
def stock(territory) -> pl.DataFrame:
    """Every establishment of the sample stock, open and closed, all activities."""
    return establishments(territory)


@pytest.fixture(scope="module")
def expected(stock) -> pl.DataFrame:
    """What the reader must keep, computed straight from the sample rows."""
    return stock.filter(
        (pl.col("etatAdministratifEtablissement") == "A")
        & (pl.col("nomenclatureActivitePrincipaleEtablissement") == "NAFRev2")
        & pl.col("activitePrincipaleEtablissement").is_in(naf_codes_for(VINTAGE))
    )


def a_month_earlier(frame: pl.DataFrame) -> pl.DataFrame:
    """The sample rows as the stock of the month before would hold them (processed a month earlier)."""
    return frame.with_columns(pl.col("dateDernierTraitementEtablissement") - timedelta(days=31))


@pytest.fixture
def mirror(tmp_path, territory, stock) -> Path:
    """The sample written as a mirror tree, plus the stock of the month before as INSEE's ZIP of CSV."""
    folder = tmp_path / "mirror"
    assert write(territory, folder) == [VINTAGE]
    (folder / SOURCE / ZIP_VINTAGE).mkdir(parents=True)
    write_stock_zip(a_month_earlier(stock), folder / SOURCE / ZIP_VINTAGE / ZIP_NAME)
    return folder


@pytest.fixture(scope="module")
def frame(tmp_path_factory, territory) -> pl.DataFrame:
    folder = tmp_path_factory.mktemp("sirene")
    write(territory, folder)
    frame, _ = read([folder / SOURCE / VINTAGE / FILE_NAME], VINTAGE)["establishments"]
    return frame


def parquet_of(folder: Path) -> Path:
    return folder / SOURCE / VINTAGE / FILE_NAME


# ---------------------------------------------------------------- the sample file and the catalogue


def test_sample_is_the_official_parquet_layout(mirror):
    schema = pq.read_schema(parquet_of(mirror))
    assert schema.names == [name for name, _ in COLUMNS] == list(STOCK_COLUMNS) and len(schema.names) == 54
    assert schema.names[:3] == ["siren", "nic", "siret"] and schema.names[-1] == "activitePrincipaleNAF25Etablissement"
    types = {field.name: field.type for field in schema}
    assert types["siret"] == pa.string() and types["codeCommuneEtablissement"] == pa.string()
    assert types["dateCreationEtablissement"] == pa.date32() and types["dateDebut"] == pa.date32()
    assert types["dateDernierTraitementEtablissement"] == pa.timestamp("us")
    assert types["etablissementSiege"] == pa.bool_() and types["nombrePeriodesEtablissement"] == pa.int64()
    current = get_source(SOURCE).template_files("current_files", VINTAGE)  # the newest month's file
    assert [f.name for f in current] == [FILE_NAME] and current[0].format == "parquet"


def test_sample_bytes_do_not_change(tmp_path, territory):
    write(territory, tmp_path / "a")
    write(territory, tmp_path / "b")
    assert parquet_of(tmp_path / "a").read_bytes() == parquet_of(tmp_path / "b").read_bytes()


def test_naf_codes_come_from_the_catalogue():
    codes = naf_codes_for(VINTAGE)
    assert "56.30Z" in codes and {"56.10A", "56.10C"} <= set(codes)
    assert naf_codes_for(ZIP_VINTAGE) == codes
    assert naf_codes_for("1999-01") == codes  # any month: the monthly template's codes
    assert naf_codes_for("1999") == DEFAULT_NAF_CODES  # not a month at all


def test_a_naf_code_without_its_dot_is_a_catalogue_mistake(mirror):
    with pytest.raises(CatalogueError, match="'5630Z'"):
        read([parquet_of(mirror)], VINTAGE, naf_codes=["5630Z"])


# ---------------------------------------------------------------- what the reader keeps


def test_reader_keeps_the_active_establishments_of_the_naf_codes(frame, expected):
    assert frame.height == expected.height > 1000
    assert set(frame["siret"]) == set(expected["siret"])
    assert all(dtype == pl.Utf8 for dtype in frame.schema.values())
    assert set(frame["etatAdministratifEtablissement"]) == {"A"}
    assert set(frame["activitePrincipaleEtablissement"]) <= set(naf_codes_for(VINTAGE))
    assert frame["dateCreationEtablissement"].str.contains(r"^\d{4}-\d{2}-\d{2}$").all()
    assert frame["dateDernierTraitementEtablissement"].str.contains(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$").all()
    assert set(frame["etablissementSiege"]) == {"true", "false"}
    assert frame["siret"].str.len_chars().eq(14).all()


def test_paris_lyon_marseille_establishments_carry_their_arrondissement(frame):
    codes = set(frame["codeCommuneEtablissement"].drop_nulls())
    assert "69123" not in codes
    assert {f"6938{n}" for n in range(1, 10)} <= codes
    third = frame.filter(pl.col("codeCommuneEtablissement") == "69383")
    assert set(third["libelleCommuneEtablissement"]) == {"TALOST 3EME"}


def test_the_story_of_the_sample(frame, stock, territory):
    tale = story(territory)
    cafes = frame.filter(pl.col("activitePrincipaleEtablissement") == "56.30Z")
    # The only café of this village closed in March 2026: the stock still lists it, the reader does not.
    lost = stock.filter(pl.col("codeCommuneEtablissement") == tale.lost_cafe_commune)
    closed_cafes = lost.filter(pl.col("activitePrincipaleEtablissement") == "56.30Z")
    assert closed_cafes["dateDebut"].to_list() == [date(2026, 3, 31)]
    assert tale.lost_cafe_commune not in set(cafes["codeCommuneEtablissement"])
    assert tale.lost_cafe_siret not in set(frame["siret"])
    # This village never had a café nor a restaurant.
    never = stock.filter(pl.col("codeCommuneEtablissement") == tale.no_cafe_commune)
    assert never.height > 0 and not never["activitePrincipaleEtablissement"].str.starts_with("56.").any()
    # A café in partial diffusion is kept and counted in its commune, with its details hidden.
    partial = frame.filter(pl.col("siret") == tale.partial_cafe_siret).row(0, named=True)
    assert partial["statutDiffusionEtablissement"] == "P"
    assert partial["codeCommuneEtablissement"] == tale.partial_cafe_commune
    assert partial["coordonneeLambertAbscisseEtablissement"] == partial["enseigne1Etablissement"] == "[ND]"
    assert cafes.filter(pl.col("codeCommuneEtablissement") == tale.partial_cafe_commune).height == 1
    assert frame.filter(pl.col("statutDiffusionEtablissement") == "P").height == 1
    # A bar abroad has no commune code but a foreign country.
    abroad = frame.filter(pl.col("siret") == tale.abroad_siret).row(0, named=True)
    assert abroad["codeCommuneEtablissement"] is None and abroad["codePaysEtrangerEtablissement"] == "99131"
    # The chain's restaurants are kept, its head office (70.10Z) is not.
    chain = frame.filter(pl.col("siren") == tale.chain_siren)
    assert chain.height == 4 and set(chain["activitePrincipaleEtablissement"]) == {"56.10C"}
    assert set(chain["etablissementSiege"]) == {"false"}
    # Bars closed before 2008 carry a NAF rév. 1 code and are never kept.
    assert stock.filter(pl.col("activitePrincipaleEtablissement") == "55.4A").height > 0
    assert "55.4A" not in set(frame["activitePrincipaleEtablissement"])


def test_coordinates_are_lambert_93_or_utm_40s_in_la_reunion(frame):
    located = frame.filter(pl.col("coordonneeLambertAbscisseEtablissement").str.contains(r"^\d+\.\d$"))
    xy = located.select(
        pl.col("codeCommuneEtablissement").str.starts_with("974").alias("reunion"),
        pl.col("coordonneeLambertAbscisseEtablissement").cast(pl.Float64).alias("x"),
        pl.col("coordonneeLambertOrdonneeEtablissement").cast(pl.Float64).alias("y"),
    )
    reunion, metropole = xy.filter(pl.col("reunion")), xy.filter(~pl.col("reunion"))
    assert reunion.height > 0 and reunion["x"].is_between(300_000, 400_000).all()
    assert reunion["y"].is_between(7_600_000, 7_700_000).all()
    assert metropole["x"].is_between(700_000, 1_250_000).all() and metropole["y"].is_between(6_000_000, 6_700_000).all()


def test_naf_codes_can_be_narrowed_to_cafes(mirror, expected):
    cafes, _ = read([parquet_of(mirror)], VINTAGE, naf_codes=["56.30Z"])["establishments"]
    assert cafes.height == expected.filter(pl.col("activitePrincipaleEtablissement") == "56.30Z").height > 100


def test_the_zipped_csv_gives_the_same_rows(tmp_path, stock, frame):
    write_stock_zip(stock, tmp_path / ZIP_NAME)
    from_zip, path = read([tmp_path / ZIP_NAME], VINTAGE)["establishments"]
    assert path.name == ZIP_NAME
    assert from_zip.equals(frame)


def test_another_months_stock_is_refused(tmp_path, stock):
    # The stock of November holds what INSEE processed up to the end of October.
    write_stock_zip(stock, tmp_path / ZIP_NAME)
    with pytest.raises(ParseError, match="older stock than 2026-12"):
        read([tmp_path / ZIP_NAME], "2026-12")
    with pytest.raises(ParseError, match="later monthly stock than 2026-10"):
        read([tmp_path / ZIP_NAME], "2026-10")


# ---------------------------------------------------------------- loading, and refusing broken files


def test_sample_loads_as_many_rows_as_the_territory_has(tmp_path, mirror, expected, territory):
    home = DataHome(tmp_path / "home").ensure()
    outcome = load_from_folder(home, mirror, SOURCE, VINTAGE)
    assert outcome.status == "loaded", outcome.detail
    assert outcome.rows == {"establishments": expected.height}
    with duckdb.connect(str(home.work_db), read_only=True) as con:
        by_commune = dict(
            con.execute(
                """select codeCommuneEtablissement, count(*) from raw.insee_sirene__establishments
                   where activitePrincipaleEtablissement = '56.30Z' and _vintage = ? group by 1""",
                [VINTAGE],
            ).fetchall()
        )
        hidden = con.execute(
            "select count(*) from raw.insee_sirene__establishments where statutDiffusionEtablissement = 'P'"
        ).fetchone()[0]
    cafes = expected.filter(pl.col("activitePrincipaleEtablissement") == "56.30Z")
    assert by_commune == dict(cafes.group_by("codeCommuneEtablissement").len().iter_rows())
    assert story(territory).lost_cafe_commune not in by_commune
    assert hidden == 1


def _rewrite(path: Path, change) -> None:
    """Rewrite a Parquet file after passing its rows through change(frame)."""
    change(pl.read_parquet(path)).write_parquet(path)


def _add_cafe(frame: pl.DataFrame, **values) -> pl.DataFrame:
    cafe = frame.filter(
        (pl.col("activitePrincipaleEtablissement") == "56.30Z") & (pl.col("etatAdministratifEtablissement") == "A")
    ).head(1)
    return pl.concat([frame, cafe.with_columns(siret=pl.lit("12345678900017"), **values)])


def _latin1_signs(path: Path) -> None:
    """Shop signs stored as latin-1 bytes instead of UTF-8 text."""
    table = pq.read_table(path)
    signs = [None if s is None else (s + " É").encode("latin-1") for s in table["enseigne1Etablissement"].to_pylist()]
    column = table.schema.get_field_index("enseigne1Etablissement")
    pq.write_table(table.set_column(column, "enseigne1Etablissement", pa.array(signs, pa.binary())), path)


def _one_month_later(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.col("dateDernierTraitementEtablissement") + timedelta(days=31))


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (lambda p: _rewrite(p, lambda f: f.drop("dateCreationEtablissement")), ["column dateCreationEtablissement is missing"]),
        (
            lambda p: _rewrite(p, lambda f: f.rename({"codeCommuneEtablissement": "codeCommune"})),
            ["column codeCommuneEtablissement is missing", "'codeCommune'", "renamed"],
        ),
        (
            lambda p: _rewrite(p, lambda f: f.rename({"etatAdministratifEtablissement": "etatAdministratif"})),
            ["column etatAdministratifEtablissement is missing", "'etatAdministratif'", "active establishments"],
        ),
        (lambda p: _rewrite(p, lambda f: _add_cafe(f, codeCommuneEtablissement=pl.lit("1053"))), ["'1053'", "leading zeros lost?"]),
        (_latin1_signs, ["not valid UTF-8", "latin-1"]),
        (lambda p: p.write_bytes(b""), ["empty"]),
        (lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]), ["not a complete Parquet file"]),
        (lambda p: _rewrite(p, _one_month_later), ["later monthly stock than 2026-11", "2026-11-01-StockEtablissement_utf8.zip"]),
    ],
    ids=["missing-column", "renamed-column", "renamed-filter-column", "lost-leading-zero", "latin-1-text",
         "empty-file", "truncated-file", "next-month-stock"],
)  # fmt: skip
def test_broken_parquet_is_refused_and_nothing_is_lost(tmp_path, mirror, breakage, expected):
    home = DataHome(tmp_path / "home").ensure()
    assert load_from_folder(home, mirror, SOURCE, VINTAGE).status == "loaded"
    breakage(parquet_of(mirror))
    assert_refused_and_nothing_lost(home, mirror, SOURCE, VINTAGE, *expected)


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (lambda f, p: write_stock_zip(f, p, encoding="latin-1"), ["cannot be decoded as UTF-8", "encoding"]),
        (lambda f, p: write_stock_zip(f.head(0), p), ["no active establishment"]),
        (lambda f, p: write_stock_zip(f.rename({"activitePrincipaleEtablissement": "APE"}), p), ["activitePrincipaleEtablissement is missing"]),
    ],
    ids=["latin-1", "header-only", "renamed-activity"],
)  # fmt: skip
def test_broken_zip_is_refused_and_nothing_is_lost(tmp_path, mirror, stock, breakage, expected):
    home = DataHome(tmp_path / "home").ensure()
    assert load_from_folder(home, mirror, SOURCE, ZIP_VINTAGE).status == "loaded"
    rows = a_month_earlier(stock).with_columns(
        pl.when(pl.col("enseigne1Etablissement").is_not_null()).then(pl.col("enseigne1Etablissement") + " É")
    )
    breakage(rows, mirror / SOURCE / ZIP_VINTAGE / ZIP_NAME)
    outcome = assert_refused_and_nothing_lost(home, mirror, SOURCE, ZIP_VINTAGE, *expected)
    assert "StockEtablissement_utf8.csv" in outcome.detail


# ---------------------------------------------------------------- dbt staging


@pytest.mark.integration
def test_staging_types_and_story(tmp_path, mirror, territory, expected):
    home = DataHome(tmp_path / "home").ensure()
    assert load_from_folder(home, mirror, SOURCE, VINTAGE).status == "loaded"
    result = dbt_build(home.work_db, tmp_path, "path:models/staging/insee_sirene")
    assert result.returncode == 0, result.stdout[-3000:]
    tale = story(territory)
    with duckdb.connect(str(home.work_db), read_only=True) as con:
        relation = con.sql("select * from staging.stg_insee_sirene__establishments")
        types = {name: str(dtype) for name, dtype in zip(relation.columns, relation.types)}
        view = relation.pl()
    assert types["created_on"] == "DATE" and types["x"] == types["y"] == "DOUBLE"
    assert types["is_active"] == types["is_partially_diffusible"] == "BOOLEAN"
    assert view.height == expected.height and view["is_active"].all()
    partial = view.filter(pl.col("siret") == tale.partial_cafe_siret).row(0, named=True)
    assert partial["name"] is None and partial["x"] is None and partial["commune_code"] == tale.partial_cafe_commune
    assert view.filter(pl.col("siret") == tale.abroad_siret)["commune_code"].to_list() == [None]
    assert set(view.filter(pl.col("commune_code").str.starts_with("974"))["coordinates_epsg"].drop_nulls()) == {2975}
    assert "69383" in set(view["commune_code"]) and "69123" not in set(view["commune_code"])
    assert view.filter(pl.col("naf_code") == "56.30Z")["name"].drop_nulls().len() > 100
