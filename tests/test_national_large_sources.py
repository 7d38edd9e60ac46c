"""The three large sources of the national sample (BPE points, the Sirene stock, GTFS feeds),
written at scale 0.02: their sizes follow the scale, and their contents hold together.

The shared test (test_national_sample.py) loads each vintage through the real path; here
the files are read with DuckDB and checked against the territory they were drawn from.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import duckdb
import pytest

from pipelines.sample.insee_bpe import NOT_GEOLOCATED
from pipelines.sample.insee_sirene import STOCK_END
from pipelines.sample.national import write_national
from pipelines.sample.national.insee_bpe import POINTS
from pipelines.sample.national.insee_sirene import KEPT_ACTIVITIES, KEPT_NAF_2025, STOCK_ROWS
from pipelines.sample.national.territory import build_national_territory
from pipelines.sample.national.transport_gtfs import STOP_TIMES
from pipelines.sources.readers.insee_sirene import naf25_codes_for, naf25_prefixes_for, naf_codes_for, naf_prefixes_for

SCALE = 0.02
SOURCES = ["insee_bpe", "insee_sirene", "transport_gtfs"]


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("national_large")
    write_national(folder, SCALE, sources=SOURCES)
    return folder


@pytest.fixture(scope="module")
def con(written):
    """The territory's connection, with views over the files written."""
    connection = build_national_territory(SCALE).connect()
    connection.execute(
        f"""
        create view bpe_2024 as select * from '{written}/insee_bpe/2024/BPE24.parquet';
        create view stock as select * from '{written}/insee_sirene/2026-11/StockEtablissement_utf8.parquet'
        """
    )
    yield connection
    connection.close()


def _zip_csv(path: Path, member: str, con: duckdb.DuckDBPyConnection, folder: Path, sep: str = ",") -> str:
    """A view name over one CSV member of a zip (extracted beside it)."""
    target = folder / f"{path.stem}-{member}"
    with zipfile.ZipFile(path) as archive:
        target.write_bytes(archive.read(member))
    view = f"{path.stem}_{member}".replace("-", "_").replace(".", "_")
    con.execute(f"create or replace view {view} as select * from read_csv('{target}', delim='{sep}', all_varchar=true)")
    return view


# --------------------------------------------------------------------------------- BPE


def test_bpe_points_follow_the_scale_and_the_counts_agree(con, written, tmp_path):
    points = con.execute("select count(*) from bpe_2024").fetchone()[0]
    assert abs(points - SCALE * POINTS) < 0.05 * SCALE * POINTS
    counts = _zip_csv(written / "insee_bpe/2024/DS_BPE_CSV_FR.zip", "DS_BPE_2024_data.csv", con, tmp_path, ";")
    differences = con.execute(
        f"""
        with points as (select DEPCOM as geo, TYPEQU as typequ, count(*) as n from bpe_2024 group by all),
        counted as (
            select GEO as geo, FACILITY_TYPE as typequ, cast(OBS_VALUE as integer) as n
            from {counts} where GEO_OBJECT in ('ARM', 'COM') and FACILITY_TYPE <> '_T'
              and GEO not in ('75056', '13055', '69123')
        )
        select count(*) from points full join counted using (geo, typequ) where points.n is distinct from counted.n
        """
    ).fetchone()[0]
    assert differences == 0
    # the overall totals of the départements add up to the number of points
    assert con.execute(
        f"select sum(cast(OBS_VALUE as integer)) from {counts} where GEO_OBJECT = 'DEP' and FACILITY_DOM = '_T'"
    ).fetchone()[0] == points


def test_bpe_points_lie_in_the_statistical_communes_of_2025(con, written, tmp_path):
    outside = con.execute(
        "select count(*) from bpe_2024 where DEPCOM not in "
        "(select code from statistical_communes where vintage = '2025')"
    ).fetchone()[0]
    assert outside == 0
    assert con.execute("select count(*) from bpe_2024 where DEPCOM in ('75056', '13055', '69123')").fetchone()[0] == 0
    unlocated = con.execute(
        f"select count(*), count(LAMBERT_X), count(LONGITUDE) from bpe_2024 where QUALITE_XY = '{NOT_GEOLOCATED}'"
    ).fetchone()
    assert unlocated[0] > 0 and unlocated[1:] == (0, 0)
    detail = _zip_csv(written / "insee_bpe/2021/bpe21_ensemble_xy_csv.zip", "bpe21_ensemble_xy.csv", con, tmp_path, ";")
    assert abs(con.execute(f"select count(*) from {detail}").fetchone()[0] - SCALE * POINTS) < 0.05 * SCALE * POINTS


def test_bpe_stations_are_the_territorys_and_most_villages_have_no_gp(con):
    stations = con.execute("select count(*) from bpe_2024 where TYPEQU in ('E107', 'E108', 'E109')").fetchone()[0]
    assert stations == con.execute("select count(*) from stations").fetchone()[0]
    villages_with_gp = con.execute(
        """
        select avg((code in (select DEPCOM from bpe_2024 where TYPEQU = 'D265'))::integer)
        from statistical_communes where vintage = '2025' and population < 500
        """
    ).fetchone()[0]
    assert villages_with_gp < 0.1


# ------------------------------------------------------------------------------ Sirene


def test_the_stock_follows_the_scale_with_its_cafes(con):
    rows, active, partial, abroad = con.execute(
        """
        select count(*), avg((etatAdministratifEtablissement = 'A')::integer),
               avg((statutDiffusionEtablissement = 'P')::integer),
               avg((codePaysEtrangerEtablissement is not null)::integer)
        from stock
        """
    ).fetchone()
    assert abs(rows - SCALE * STOCK_ROWS) < 0.02 * SCALE * STOCK_ROWS
    assert 0.4 < active < 0.5 and 0.02 < partial < 0.04 and 0 < abroad < 0.005
    cafes, naf25 = con.execute(
        """
        select count(*), count(*) filter (activitePrincipaleNAF25Etablissement = '56.30Y') from stock
        where activitePrincipaleEtablissement = '56.30Z' and etatAdministratifEtablissement = 'A'
        """
    ).fetchone()
    expected = SCALE * KEPT_ACTIVITIES["56.30Z"][0]
    assert abs(cafes - expected) < 0.1 * expected and naf25 == cafes


def test_the_stock_uses_the_catalogues_codes_and_the_communes_of_2026(con):
    # every code the catalogue lists has counts of its own, and every such code is one the reader keeps
    assert set(naf_codes_for("2026-11")) <= set(KEPT_ACTIVITIES)
    rev2_codes, rev2_prefixes = naf_codes_for("2026-11"), naf_prefixes_for("2026-11")
    naf25_codes, naf25_prefixes = naf25_codes_for("2026-11"), naf25_prefixes_for("2026-11")
    assert all(code in rev2_codes or code.startswith(rev2_prefixes) for code in KEPT_ACTIVITIES)
    assert all(code in naf25_codes or code.startswith(naf25_prefixes) for code in KEPT_NAF_2025.values())
    kept = {code for (code,) in con.execute(
        "select distinct activitePrincipaleEtablissement from stock where etatAdministratifEtablissement = 'A'"
    ).fetchall()}  # fmt: skip
    assert set(KEPT_ACTIVITIES) <= kept
    unknown = con.execute(
        "select count(*) from stock where codeCommuneEtablissement not in "
        "(select code from statistical_communes where vintage = '2026')"
    ).fetchone()[0]
    assert unknown == 0  # arrondissements for Paris, Lyon and Marseille; abroad: no commune


def test_closures_are_spread_over_the_years_and_the_recent_ones_plausible(con):
    """About 2.8 % of the closures in the last twelve months, 14 % in the last five years, as many
    cafés closed as opened over the year; a closed establishment lived at least a year."""
    last_year, five_years, shortest, latest = con.execute(
        """
        select avg((dateDebut >= DATE '2025-11-01')::integer), avg((dateDebut >= DATE '2021-11-01')::integer),
               min(dateDebut - dateCreationEtablissement), max(dateDebut)
        from stock where etatAdministratifEtablissement = 'F'
        """
    ).fetchone()
    assert 0.02 < last_year < 0.04 and 0.11 < five_years < 0.17
    assert shortest >= 365 and latest <= STOCK_END
    closed, opened, active = con.execute(
        """
        select count(*) filter (etatAdministratifEtablissement = 'F' and dateDebut >= DATE '2025-11-01'),
               count(*) filter (dateCreationEtablissement >= DATE '2025-11-01'),
               count(*) filter (etatAdministratifEtablissement = 'A')
        from stock where activitePrincipaleEtablissement = '56.30Z'
        """
    ).fetchone()
    assert 0.05 < closed / active < 0.12 and 0.6 < closed / opened < 1.6


def test_the_stock_is_the_november_one_in_siret_order(con):
    newest, unique, rows = con.execute(
        "select max(dateDernierTraitementEtablissement), count(distinct siret), count(*) from stock"
    ).fetchone()
    assert newest.date() <= STOCK_END and unique == rows
    disorder = con.execute(
        "select count(*) from (select siret < lag(siret) over () as back from stock) where back"
    ).fetchone()[0]
    assert disorder == 0


# -------------------------------------------------------------------------------- GTFS


def _feed_views(con, written, tmp_path) -> dict[str, dict[str, str]]:
    folder = written / "transport_gtfs/2026-W48"
    return {
        feed.stem: {
            member: _zip_csv(feed, member, con, tmp_path)
            for member in ("stops.txt", "trips.txt", "stop_times.txt", "calendar.txt")
        }
        for feed in sorted(folder.glob("*.zip"))
    }


def test_gtfs_stop_times_follow_the_scale_and_increase_along_trips(con, written, tmp_path):
    feeds = _feed_views(con, written, tmp_path)
    assert set(feeds) == {"tcl-sytral", "mobigo-saone-et-loire", "sncf-ter"}
    total = 0
    for views in feeds.values():
        total += con.execute(f"select count(*) from {views['stop_times.txt']}").fetchone()[0]
        backwards = con.execute(
            f"""
            select count(*) from (
                select arrival_time < lag(arrival_time) over (partition by trip_id order by stop_sequence::integer)
                       as back
                from {views['stop_times.txt']}
            ) where back
            """
        ).fetchone()[0]
        assert backwards == 0
        # every feed runs on the reference Tuesday
        tuesday = con.execute(
            f"""select count(*) from {views['trips.txt']} join {views['calendar.txt']} using (service_id)
                where tuesday = '1' and start_date <= '20261124' and end_date >= '20261124'"""
        ).fetchone()[0]
        assert tuesday > 0
    assert total >= SCALE * STOP_TIMES * 0.97


def test_ter_stops_are_the_territorys_stations(con, written, tmp_path):
    stops = _feed_views(con, written, tmp_path)["sncf-ter"]["stops.txt"]
    areas = {uic for (uic,) in con.execute(
        f"select replace(stop_id, 'StopArea:OCE', '') from {stops} where location_type = '1'"
    ).fetchall()}  # fmt: skip
    # every station is served, but the only one of its département (no line to run)
    served = con.execute(
        "select uic from stations qualify count(*) over (partition by departement) > 1"
    ).fetchall()
    assert areas == {uic for (uic,) in served}
