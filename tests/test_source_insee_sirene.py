"""insee_sirene: the establishments stock, filtered in DuckDB to cafés, restaurants, shops and salons,
active or closed in the last five years.

No real Sirene file sits in ../shared/data/real (INDEX.md: not found), so everything here runs
on the sample stock of the fictitious territory, in data.gouv.fr's Parquet and INSEE's ZIP.
"""

from __future__ import annotations

import dataclasses
import re
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
    DECLINING_SHOPS,
    FILE_NAME,
    GROWING_SHOPS,
    NAF25,
    RECENT_SINCE,
    SOURCE,
    VINTAGE,
    before_naf2025,
    establishments,
    naf2025_reference,
    story,
    write,
    write_parquet,
    write_stock_zip,
)
from pipelines.sample.territory import build_territory
from pipelines.settings import DataHome
from pipelines.sources.catalogue import CatalogueError, get_source
from pipelines.sources.readers.common import ParseError
from pipelines.settings import DBT_PROJECT_DIR
from pipelines.sources.readers import insee_sirene as reader
from pipelines.sources.readers.insee_sirene import (
    DEFAULT_NAF25_CODES,
    DEFAULT_NAF_CODES,
    STOCK_COLUMNS,
    closed_within_years_for,
    naf25_codes_for,
    naf25_prefixes_for,
    naf_codes_for,
    naf_prefixes_for,
    read,
)

ZIP_VINTAGE = "2026-10"  # the catalogue lists the dated ZIP of the CSV for this month
ZIP_NAME = "StockEtablissement_utf8.zip"
CAFE_REV2, CAFE_NAF25 = "56.30Z", "56.30Y"
# The stock of 2026-11 keeps the closures from the first day of its month five years back, the
# one of 2026-10 from a month earlier.
CLOSED_SINCE = {VINTAGE: date(2021, 11, 1), ZIP_VINTAGE: date(2021, 10, 1)}
STATE, ACTIVITY, NOMENCLATURE = (
    "etatAdministratifEtablissement", "activitePrincipaleEtablissement", "nomenclatureActivitePrincipaleEtablissement"
)  # fmt: skip
ACTIVE = pl.col(STATE) == "A"
ONLY_CAFES = {"naf_codes": [CAFE_REV2], "naf25_codes": [CAFE_NAF25], "naf_prefixes": [], "naf25_prefixes": []}
STAGING_SQL = DBT_PROJECT_DIR / "models" / "staging" / "insee_sirene" / "stg_insee_sirene__establishments.sql"


@pytest.fixture(scope="module")
def territory():
    return build_territory()


@pytest.fixture(scope="module")
def stock(territory) -> pl.DataFrame:
    """Every establishment of the sample stock, open and closed, all activities."""
    return establishments(territory)


def starts_with_any(column: str, prefixes) -> pl.Expr:
    return pl.any_horizontal([pl.col(column).str.starts_with(prefix) for prefix in prefixes] or [pl.lit(False)])


def keep(frame: pl.DataFrame, *, naf25: bool = True, vintage: str = VINTAGE) -> pl.DataFrame:
    """What the reader must keep, computed straight from rows of a stock (NAF rév. 2 or NAF 2025 codes
    and prefixes; open, or closed since the first day of the stock's month five years back)."""
    wanted = (pl.col(NOMENCLATURE) == "NAFRev2") & (
        pl.col(ACTIVITY).is_in(naf_codes_for(vintage)) | starts_with_any(ACTIVITY, naf_prefixes_for(vintage))
    )
    if naf25:
        naf25_codes, naf25_prefixes = naf25_codes_for(vintage), naf25_prefixes_for(vintage)
        wanted = wanted | pl.col(NAF25).is_in(naf25_codes) | starts_with_any(NAF25, naf25_prefixes)
    recent = (pl.col(STATE) == "A") | ((pl.col(STATE) == "F") & (pl.col("dateDebut") >= CLOSED_SINCE[vintage]))
    return frame.filter(recent & wanted.fill_null(False))


def is_cafe(frame: pl.DataFrame) -> pl.Expr:
    """A café in NAF rév. 2 or in NAF 2025 (the column, or the main activity from 2027)."""
    return (pl.col("activitePrincipaleEtablissement").is_in([CAFE_REV2, CAFE_NAF25])) | (
        pl.col(NAF25).eq(CAFE_NAF25).fill_null(False) if NAF25 in frame.columns else pl.lit(False)
    )


@pytest.fixture(scope="module")
def expected(stock) -> pl.DataFrame:
    """What the reader must keep, computed straight from the sample rows."""
    return keep(stock)


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
    assert "56.30Z" in codes and {"56.10A", "56.10C", "96.02A", "96.02B"} <= set(codes)
    in_stores = tuple(f"47.{group}" for group in range(1, 8))  # retail in stores: 47.1 to 47.7
    assert naf_prefixes_for(VINTAGE) == in_stores and set(naf25_prefixes_for(VINTAGE)) == {*in_stores, "96.21", "96.22"}
    assert closed_within_years_for(VINTAGE) == 5
    assert naf_codes_for(ZIP_VINTAGE) == codes
    assert naf_codes_for("1999-01") == codes  # any month: the monthly template's codes
    assert naf_codes_for("1999") == DEFAULT_NAF_CODES  # not a month at all


def test_a_naf_code_without_its_dot_is_a_catalogue_mistake(mirror):
    with pytest.raises(CatalogueError, match="'5630Z'"):
        read([parquet_of(mirror)], VINTAGE, naf_codes=["5630Z"])


def test_naf_2025_codes_come_from_the_catalogue():
    codes = naf25_codes_for(VINTAGE)
    assert CAFE_NAF25 in codes and "56.11J" in codes
    assert all(re.fullmatch(r"[0-9]{2}\.[0-9]{2}[G-Y]", code) for code in codes)
    assert naf25_codes_for("1999") == DEFAULT_NAF25_CODES == (CAFE_NAF25,)
    assert set(get_source(SOURCE).entities["establishments"]["optional"]) >= {NAF25}


def with_parse(monkeypatch, **parse) -> None:
    """Make the reader see the catalogue with these `parse:` settings for the monthly template."""
    source = get_source(SOURCE)
    template = {**source.vintage_template, "parse": {**source.vintage_template["parse"], **parse}}
    changed = dataclasses.replace(source, vintage_template=template)
    monkeypatch.setattr(reader, "get_source", lambda source_id: changed)


@pytest.mark.parametrize(
    ("codes", "expected"),
    [
        (["56.30Y", "5630Y"], ["'5630Y'", "NAF 2025 sub-classes with their dot", "parse: naf25_codes", "insee_sirene.yml"]),
        (["56.30Z"], ["'56.30Z' is a NAF rév. 2 code", "those go in `parse: naf_codes`"]),
        (["56.30y"], ["'56.30y'", "ending in Y"]),
    ],
    ids=["without-dot", "rev2-code", "lower-case"],
)  # fmt: skip
def test_a_wrong_naf_2025_code_in_the_catalogue_is_a_clear_error(monkeypatch, mirror, codes, expected):
    with_parse(monkeypatch, naf25_codes=codes)
    with pytest.raises(CatalogueError) as error:
        read([parquet_of(mirror)], VINTAGE)
    assert all(fragment in str(error.value) for fragment in expected), str(error.value)
    assert str(error.value).startswith("insee_sirene: ")


def test_the_staging_cafe_codes_are_codes_the_reader_keeps():
    sql = STAGING_SQL.read_text(encoding="utf-8")
    rev2 = re.search(r"set cafe_naf_codes = \[([^\]]*)\]", sql).group(1)
    naf25 = re.search(r"set cafe_naf_2025_codes = \[([^\]]*)\]", sql).group(1)
    assert re.findall(r"'([^']+)'", rev2) == [CAFE_REV2] and re.findall(r"'([^']+)'", naf25) == [CAFE_NAF25]
    assert CAFE_REV2 in naf_codes_for(VINTAGE) and CAFE_NAF25 in naf25_codes_for(VINTAGE)


def test_the_staging_shop_and_salon_codes_are_codes_the_reader_keeps():
    sql = STAGING_SQL.read_text(encoding="utf-8")

    def listed(name: str) -> list[str]:
        return re.findall(r"'([^']+)'", re.search(rf"set {name} = (\[[^\]]*\]|'[^']*')", sql).group(1))

    assert listed("retail_prefix") == ["47."]
    kept = [p for p in (*naf_prefixes_for(VINTAGE), *naf25_prefixes_for(VINTAGE)) if p.startswith("47")]
    assert kept and all(p.startswith("47.") for p in kept)  # every retail group the reader keeps is a shop for staging
    assert listed("personal_service_naf_codes") == ["96.02A", "96.02B"]
    assert set(listed("personal_service_naf_codes")) <= set(naf_codes_for(VINTAGE))
    assert listed("personal_service_naf_2025_prefixes") == ["96.21", "96.22"]
    assert set(listed("personal_service_naf_2025_prefixes")) <= set(naf25_prefixes_for(VINTAGE))


@pytest.mark.parametrize(
    ("parse", "expected"),
    [
        ({"naf_prefixes": ["47"]}, ["`parse: naf_prefixes`", "'47'", "with their dot, like '47.'"]),
        ({"naf25_prefixes": ["47.1A"]}, ["`parse: naf25_prefixes`", "'47.1A'"]),
        ({"closed_within_years": "5"}, ["`parse: closed_within_years`", "whole number of years", "'5'"]),
        ({"closed_within_years": -1}, ["`parse: closed_within_years`", "got -1"]),
    ],
    ids=["prefix-without-dot", "prefix-too-long", "years-as-text", "negative-years"],
)  # fmt: skip
def test_a_wrong_prefix_or_closure_window_in_the_catalogue_is_a_clear_error(monkeypatch, mirror, parse, expected):
    with_parse(monkeypatch, **parse)
    with pytest.raises(CatalogueError) as error:
        read([parquet_of(mirror)], VINTAGE)
    assert all(fragment in str(error.value) for fragment in expected), str(error.value)
    assert str(error.value).startswith("insee_sirene: ") and "insee_sirene.yml" in str(error.value)


# ---------------------------------------------------------------- what the reader keeps


def test_reader_keeps_the_establishments_of_the_naf_codes_open_or_recently_closed(frame, expected):
    assert frame.height == expected.height > 1000
    assert set(frame["siret"]) == set(expected["siret"])
    assert all(dtype == pl.Utf8 for dtype in frame.schema.values())
    assert set(frame[STATE]) == {"A", "F"}
    closed = frame.filter(pl.col(STATE) == "F")
    assert closed.height > 100 and closed["dateDebut"].min() >= CLOSED_SINCE[VINTAGE].isoformat()
    in_rev2 = frame.filter(
        pl.col(ACTIVITY).is_in(naf_codes_for(VINTAGE)) | starts_with_any(ACTIVITY, naf_prefixes_for(VINTAGE))
    )
    assert in_rev2.height == frame.height - 1  # the bar-billard (93.29Z) is kept by its NAF 2025 code
    assert frame.filter(pl.col(ACTIVITY).str.starts_with("47.")).height > 1000  # every shop
    assert {"96.02A", "96.02B"} <= set(frame[ACTIVITY])
    assert frame.filter(~starts_with_any(NAF25, naf25_prefixes_for(VINTAGE)))[NAF25].drop_nulls().is_in(
        naf25_codes_for(VINTAGE)).all()  # fmt: skip
    assert closed[NAF25].null_count() == closed.height  # closed ones carry no NAF 2025 code
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
    cafes = frame.filter((pl.col(ACTIVITY) == "56.30Z") & ACTIVE)
    # The only café of this village closed in March 2026: the reader keeps it, closed.
    lost = stock.filter(pl.col("codeCommuneEtablissement") == tale.lost_cafe_commune)
    closed_cafes = lost.filter(pl.col(ACTIVITY) == "56.30Z")
    assert closed_cafes["dateDebut"].to_list() == [date(2026, 3, 31)]
    assert tale.lost_cafe_commune not in set(cafes["codeCommuneEtablissement"])
    lost_cafe = frame.filter(pl.col("siret") == tale.lost_cafe_siret)
    assert lost_cafe.select(STATE, "dateDebut").row(0) == ("F", "2026-03-31")
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
    # A bar-billard registered under 93.29Z is a café in NAF 2025 only: kept through its NAF 2025 code.
    billiards = frame.filter(pl.col("siret") == tale.naf25_cafe_siret).row(0, named=True)
    assert billiards["activitePrincipaleEtablissement"] == "93.29Z" and billiards[NAF25] == CAFE_NAF25
    assert billiards["codeCommuneEtablissement"] == tale.naf25_cafe_commune
    assert "93.29Z" not in naf_codes_for(VINTAGE)
    # Every active café of the rév. 2 list has 56.30Y as its NAF 2025 code.
    assert set(cafes[NAF25]) == {CAFE_NAF25}


def cafe_closures(frame: pl.DataFrame, commune: str) -> tuple[int, list[str]]:
    """(open cafés, closing days of the closed ones) of a commune in the reader's rows."""
    here = frame.filter((pl.col("codeCommuneEtablissement") == commune) & (pl.col(ACTIVITY) == "56.30Z"))
    return here.filter(pl.col(STATE) == "A").height, sorted(here.filter(pl.col(STATE) == "F")["dateDebut"])


def test_the_cafe_villages_of_the_story(frame, stock, territory):
    tale = story(territory)
    recent = RECENT_SINCE.isoformat()
    # lost its last café in the last three years: one closed café, no open one
    assert cafe_closures(frame, tale.lost_cafe_commune) == (0, ["2026-03-31"])
    # one café left, the other closed in January 2025
    assert cafe_closures(frame, tale.last_cafe_commune) == (1, ["2025-01-31"]) and "2025-01-31" >= recent
    closed = frame.filter(pl.col("siret") == tale.last_cafe_closed_siret).row(0, named=True)
    assert (closed[STATE], closed["dateCreationEtablissement"]) == ("F", "1998-06-02")
    # one café and no closure: not in the reader's five years, nor ever in the stock
    assert cafe_closures(frame, tale.steady_cafe_commune) == (1, [])
    steady = stock.filter(pl.col("codeCommuneEtablissement") == tale.steady_cafe_commune)
    assert steady.filter(pl.col(ACTIVITY).is_in(["56.30Z", "55.4A"]) & (pl.col(STATE) == "F")).is_empty()
    villages = {tale.lost_cafe_commune, tale.last_cafe_commune, tale.steady_cafe_commune}
    assert len(villages) == 3 and all(code.startswith("71") for code in villages)


def shop_moves(frame: pl.DataFrame, commune: str, since: str) -> dict[str, tuple[int, int]]:
    """{kind: (closed on or after `since`, opened on or after `since`)} of a commune's shops and salons."""
    here = frame.filter(pl.col("codeCommuneEtablissement") == commune)
    kinds = {"retail": pl.col(ACTIVITY).str.starts_with("47."), "salons": pl.col(ACTIVITY).is_in(["96.02A", "96.02B"])}
    return {
        kind: (
            here.filter(chosen & (pl.col(STATE) == "F") & (pl.col("dateDebut") >= since)).height,
            here.filter(chosen & (pl.col("dateCreationEtablissement") >= since)).height,
        )
        for kind, chosen in kinds.items()
    }


def test_the_shop_towns_of_the_story(frame, stock, territory):
    tale = story(territory)
    recent = RECENT_SINCE.isoformat()
    towns = territory.geography("2026")
    for declining, growing in zip(tale.declining_towns, tale.growing_towns):
        # a small town of Saône-et-Loire, then of the Var
        assert declining[:2] == growing[:2] and all(towns.commune(c).population < 10_000 for c in (declining, growing))
        assert shop_moves(frame, declining, recent) == {"retail": (5, 1), "salons": (1, 0)}
        assert shop_moves(frame, growing, recent) == {"retail": (1, 4), "salons": (0, 1)}
        # the reader keeps five years of closures: the bakery of March 2022, not the shop of June 2019
        assert shop_moves(frame, declining, CLOSED_SINCE[VINTAGE].isoformat())["retail"] == (6, 1)
        in_stock = stock.filter(pl.col("codeCommuneEtablissement") == declining)
        assert date(2019, 6, 30) in set(in_stock["dateDebut"])
    assert [t[:2] for t in tale.declining_towns] == ["71", "83"]
    assert sum(closed is not None and closed >= RECENT_SINCE for _, _, closed in DECLINING_SHOPS) == 6
    assert sum(opened >= RECENT_SINCE for _, opened, _ in GROWING_SHOPS) == 5


def test_closures_are_kept_from_the_first_day_of_the_month_five_years_back(tmp_path, stock):
    cafes = stock.filter((pl.col(ACTIVITY) == "56.30Z") & (pl.col(STATE) == "F")).head(2)["siret"].to_list()
    days = {cafes[0]: date(2021, 11, 1), cafes[1]: date(2021, 10, 31)}
    moved = stock.with_columns(
        pl.col("siret").replace_strict(days, default=pl.col("dateDebut"), return_dtype=pl.Date).alias("dateDebut")
    )
    kept, _ = read([_parquet(tmp_path, moved)], VINTAGE)["establishments"]
    assert cafes[0] in set(kept["siret"]) and cafes[1] not in set(kept["siret"])
    # no closure at all when the catalogue keeps none
    open_only, _ = read([_parquet(tmp_path, moved)], VINTAGE, closed_within_years=0)["establishments"]
    assert set(open_only[STATE]) == {"A"} and open_only.height == keep(moved).filter(ACTIVE).height


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
    cafes, _ = read([parquet_of(mirror)], VINTAGE, **ONLY_CAFES)["establishments"]
    assert cafes.height == expected.filter(is_cafe(expected)).height > 100
    rev2_only, _ = read([parquet_of(mirror)], VINTAGE, **ONLY_CAFES | {"naf25_codes": []})["establishments"]
    assert rev2_only.height == cafes.height - 1  # the bar-billard is a café in NAF 2025 only
    assert set(rev2_only["activitePrincipaleEtablissement"]) == {CAFE_REV2}


# ---------------------------------------------------------------- NAF 2025


def test_a_cafe_in_naf_2025_only_is_kept(tmp_path, stock, territory):
    tale = story(territory)
    # Only the NAF 2025 clause can keep it: its rév. 2 code is in no list.
    path = _parquet(tmp_path, stock)
    cafes, _ = read([path], VINTAGE, **ONLY_CAFES | {"naf_codes": ["47.26Z"]})["establishments"]
    assert tale.naf25_cafe_siret in set(cafes["siret"])
    assert set(cafes.filter(pl.col("siret") == tale.naf25_cafe_siret)["activitePrincipaleEtablissement"]) == {"93.29Z"}
    assert cafes.filter(pl.col(NAF25) == CAFE_NAF25).height == stock.filter(
        (pl.col(NAF25) == CAFE_NAF25) & (pl.col("etatAdministratifEtablissement") == "A")
    ).height


def without_dots(frame: pl.DataFrame) -> pl.DataFrame:
    """NAF 2025 codes written without their dot (5630Y), as INSEE's own NAF 2025 tools write them."""
    return frame.with_columns(pl.col(NAF25).str.replace(".", "", literal=True))


def test_a_naf_2025_code_without_its_dot_is_kept_too(tmp_path, stock, expected):
    kept, _ = read([_parquet(tmp_path, without_dots(stock))], VINTAGE)["establishments"]
    assert set(kept["siret"]) == set(expected["siret"])
    assert CAFE_NAF25.replace(".", "") in set(kept[NAF25])


def _parquet(folder: Path, frame: pl.DataFrame) -> Path:
    path = folder / FILE_NAME
    write_parquet(frame, path)
    return path


@pytest.mark.parametrize("layout", ["parquet", "zip"])
def test_a_stock_before_naf_2025_is_read_on_naf_rev_2_alone(tmp_path, stock, territory, layout):
    """Stocks before December 2025 have no activitePrincipaleNAF25Etablissement column."""
    old = before_naf2025(stock)
    if layout == "parquet":
        path = _parquet(tmp_path, old)
        assert NAF25 not in pq.read_schema(path).names and len(pq.read_schema(path).names) == 53
    else:
        path = tmp_path / ZIP_NAME
        write_stock_zip(old, path)
    frame, _ = read([path], VINTAGE)["establishments"]
    assert NAF25 not in frame.columns
    assert set(frame["siret"]) == set(keep(stock, naf25=False)["siret"])
    assert story(territory).naf25_cafe_siret not in set(frame["siret"])  # a café only in NAF 2025


def test_a_stock_where_naf_2025_is_the_reference_keeps_the_same_establishments(tmp_path, stock, expected, territory):
    """From 2027 the main activity may be the NAF 2025 code, under a NAF 2025 nomenclature value."""
    future = naf2025_reference(stock)
    with_naf25 = expected.filter(pl.col(NAF25).is_not_null())["siret"].implode()
    assert set(future.filter(pl.col("siret").is_in(with_naf25))[NOMENCLATURE]) == {"NAF2025"}
    for frame in (future, future.drop(NAF25)):  # with or without the NAF 2025 column
        kept, _ = read([_parquet(tmp_path, frame)], VINTAGE)["establishments"]
        assert set(kept["siret"]) == set(expected["siret"])
        billiards = kept.filter(pl.col("siret") == story(territory).naf25_cafe_siret).row(0, named=True)
        assert billiards["activitePrincipaleEtablissement"] == CAFE_NAF25


def test_a_naf_2025_main_activity_under_an_unknown_nomenclature_value_is_refused(tmp_path, stock):
    future = naf2025_reference(stock).with_columns(
        pl.col("nomenclatureActivitePrincipaleEtablissement").str.replace("NAF2025", "NACERev21")
    ).drop(NAF25)
    with pytest.raises(ParseError) as error:
        read([_parquet(tmp_path, future)], VINTAGE)
    message = str(error.value)
    assert message.startswith(f"insee_sirene {VINTAGE} {FILE_NAME}: column nomenclatureActivitePrincipaleEtablissement")
    assert "'NACERev21'" in message and "parse: naf25_nomenclatures" in message and "value set" in message


def test_the_naf_2025_nomenclature_value_comes_from_the_catalogue(monkeypatch, tmp_path, stock, expected):
    with_parse(monkeypatch, naf25_nomenclatures=["NACERev21"])
    future = naf2025_reference(stock).with_columns(
        pl.col("nomenclatureActivitePrincipaleEtablissement").str.replace("NAF2025", "NACERev21")
    )
    kept, _ = read([_parquet(tmp_path, future)], VINTAGE)["establishments"]
    assert kept.height == expected.height


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
    assert outcome.rows["establishments"] == keep(expected, naf25=False).height + 1  # the bar-billard
    assert by_commune[story(territory).lost_cafe_commune] == 1  # its café, closed
    assert hidden == 1


@pytest.mark.parametrize(
    ("layout", "naf25"),
    [(before_naf2025, False), (naf2025_reference, True)],
    ids=["stock-before-2025-12", "naf-2025-reference-from-2027"],
)
def test_stocks_before_and_after_naf_2025_load(tmp_path, mirror, stock, layout, naf25):
    """The catalogue checks accept a stock without the NAF 2025 column, and the NAF2025 nomenclature."""
    write_parquet(layout(stock), parquet_of(mirror))
    home = DataHome(tmp_path / "home").ensure()
    outcome = load_from_folder(home, mirror, SOURCE, VINTAGE)
    assert outcome.status == "loaded", outcome.detail
    assert outcome.rows == {"establishments": keep(stock, naf25=naf25).height}
    with duckdb.connect(str(home.work_db), read_only=True) as con:
        nomenclatures = dict(con.execute(
            """select nomenclatureActivitePrincipaleEtablissement, count(*) from raw.insee_sirene__establishments
               group by 1"""
        ).fetchall())  # fmt: skip
    # From 2027 the establishments with a NAF 2025 code have it as their main activity; the closed
    # ones and the sample's other shops have none and stay in NAF rév. 2.
    with_naf25 = keep(stock).filter(pl.col(NAF25).is_not_null()).height
    if naf25:
        assert nomenclatures == {"NAF2025": with_naf25, "NAFRev2": keep(stock).height - with_naf25}
    else:
        assert nomenclatures == {"NAFRev2": keep(stock, naf25=False).height}


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
def test_staging_types_and_story(tmp_path, mirror, territory, stock, expected):
    home = DataHome(tmp_path / "home").ensure()
    assert load_from_folder(home, mirror, SOURCE, VINTAGE).status == "loaded"
    # the month before, with its NAF 2025 codes written without their dot (5630Y)
    write_stock_zip(without_dots(a_month_earlier(stock)), mirror / SOURCE / ZIP_VINTAGE / ZIP_NAME)
    assert load_from_folder(home, mirror, SOURCE, ZIP_VINTAGE).status == "loaded"
    result = dbt_build(home.work_db, tmp_path, "path:models/staging/insee_sirene")
    assert result.returncode == 0, result.stdout[-3000:]
    tale = story(territory)
    with duckdb.connect(str(home.work_db), read_only=True) as con:
        relation = con.sql("select * from staging.stg_insee_sirene__establishments")
        types = {name: str(dtype) for name, dtype in zip(relation.columns, relation.types)}
        both = relation.pl()
    view, earlier = both.filter(pl.col("vintage") == VINTAGE), both.filter(pl.col("vintage") == ZIP_VINTAGE)
    # the dot is put back, and the same establishments are cafés in both months
    columns = ["siret", "naf_2025_code", "is_cafe", "is_retail", "is_personal_service"]
    assert earlier.filter(pl.col("is_active")).select(columns).sort("siret").equals(
        view.filter(pl.col("is_active")).select(columns).sort("siret")
    )
    assert earlier.height == keep(a_month_earlier(stock), vintage=ZIP_VINTAGE).height
    assert types["created_on"] == types["closed_on"] == "DATE" and types["x"] == types["y"] == "DOUBLE"
    assert types["is_active"] == types["is_partially_diffusible"] == types["is_retail"] == "BOOLEAN"
    assert view.height == expected.height
    assert view["is_active"].sum() == expected.filter(ACTIVE).height
    # closed_on: the closing day of the closed ones, within the five years kept
    closed = view.filter(~pl.col("is_active"))
    assert closed["closed_on"].null_count() == 0
    assert view.filter(pl.col("is_active"))["closed_on"].null_count() == view["is_active"].sum()
    assert closed["closed_on"].min() >= CLOSED_SINCE[VINTAGE] and closed["closed_on"].equals(closed["state_since"])
    # is_retail: division 47; is_personal_service: hairdressers and beauty salons
    assert view.filter(pl.col("is_retail"))["naf_code"].str.starts_with("47.").all()
    assert view.filter(pl.col("naf_code").str.starts_with("47."))["is_retail"].all()
    assert set(view.filter(pl.col("is_personal_service"))["naf_code"]) == {"96.02A", "96.02B"}
    assert not view.filter(pl.col("is_cafe") & (pl.col("is_retail") | pl.col("is_personal_service"))).height
    for town in tale.declining_towns:
        here = view.filter((pl.col("commune_code") == town) & pl.col("is_retail"))
        closed_recently = here.filter(pl.col("closed_on") >= RECENT_SINCE).height
        assert (closed_recently, here.filter(pl.col("created_on") >= RECENT_SINCE).height) == (5, 1)
    closed_cafe = view.filter(pl.col("siret") == tale.last_cafe_closed_siret)
    assert closed_cafe.select("is_cafe", "is_active", "closed_on").row(0) == (True, False, date(2025, 1, 31))
    partial = view.filter(pl.col("siret") == tale.partial_cafe_siret).row(0, named=True)
    assert partial["name"] is None and partial["x"] is None and partial["commune_code"] == tale.partial_cafe_commune
    assert view.filter(pl.col("siret") == tale.abroad_siret)["commune_code"].to_list() == [None]
    assert set(view.filter(pl.col("commune_code").str.starts_with("974"))["coordinates_epsg"].drop_nulls()) == {2975}
    assert "69383" in set(view["commune_code"]) and "69123" not in set(view["commune_code"])
    assert view.filter(pl.col("naf_code") == "56.30Z")["name"].drop_nulls().len() > 100
    # is_cafe: 56.30Z in NAF rév. 2, or 56.30Y in NAF 2025 (the bar-billard registered under 93.29Z)
    assert types["is_cafe"] == "BOOLEAN" and view["is_cafe"].is_not_null().all()
    cafes = view.filter(pl.col("is_cafe"))
    assert cafes.height == expected.filter(is_cafe(expected)).height
    assert set(cafes["naf_code"]) == {"56.30Z", "93.29Z"}
    assert set(cafes.filter(pl.col("is_active"))["naf_2025_code"]) == {CAFE_NAF25}  # closed ones have none
    billiards = view.filter(pl.col("siret") == tale.naf25_cafe_siret).row(0, named=True)
    assert billiards["is_cafe"] and billiards["naf_nomenclature"] == "NAFRev2"
    by_commune = cafes.filter(pl.col("commune_code") == tale.naf25_cafe_commune).height
    assert by_commune == expected.filter(
        is_cafe(expected) & (pl.col("codeCommuneEtablissement") == tale.naf25_cafe_commune)
    ).height > 1
