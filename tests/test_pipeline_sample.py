"""The whole pipeline on the sample: fetch over HTTP, validate, load, dbt, publish."""

from __future__ import annotations

import time

import duckdb
import pytest

from pipelines.sample import build_territory
from pipelines.sources.catalogue import load_catalogue

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def territory():
    return build_territory()


@pytest.fixture(scope="module")
def warehouse(sample_build):
    home, _ = sample_build
    con = duckdb.connect(str(home.warehouse), read_only=True)
    yield con
    con.close()


def scalar(con, sql, params=None):
    return con.execute(sql, params or []).fetchone()[0]


def test_every_sample_source_and_vintage_loaded(sample_build, sample_files):
    _, result = sample_build
    _, written = sample_files
    assert result.source_statuses == {
        source: {vintage: "loaded" for vintage in vintages} for source, vintages in written.items()
    }
    assert set(written) == set(load_catalogue())  # the demo exercises every source
    assert result.failed_checks == [] and result.failed_steps == []


def test_geography_is_the_2026_sample(warehouse, territory):
    expected = {c.code for c in territory.geography("2026").actuelles}
    assert {r[0] for r in warehouse.execute("select commune_code from geo.commune").fetchall()} == expected
    assert scalar(warehouse, "select count(*) from geo.departement") == 5
    assert scalar(warehouse, "select count(*) from geo.epci") == len(territory.geography("2026").epcis)
    assert scalar(warehouse, "select count(*) from geo.commune where epci_code is null") == 0
    assert scalar(warehouse, "select max(geography_vintage) from geo.commune") == "2026"


def test_passage_maps_merged_communes_and_arrondissements(warehouse, territory):
    passage = dict(warehouse.execute("select old_code, commune_code from geo.commune_passage").fetchall())
    for merger in territory.mergers:
        for code in merger.predecessors:
            assert passage[code] == merger.code
    assert all(passage[f"6938{i}"] == "69123" for i in range(1, 10))
    # every 2025 commune code maps onto a 2026 commune
    codes_2025 = {c.code for c in territory.geography("2025").actuelles}
    assert codes_2025 <= set(passage)
    assert {passage[c] for c in codes_2025} <= {c.code for c in territory.geography("2026").actuelles}


def test_merged_commune_gets_the_sum_of_its_predecessors(warehouse, territory):
    geography_2025 = territory.geography("2025")
    for merger in territory.mergers:
        expected = sum(geography_2025.commune(code).population for code in merger.predecessors)
        value = scalar(
            warehouse,
            "select value from indicators.long where indicator_id = 'population' and level = 'commune' "
            "and vintage = '2025' and code = ?",
            [merger.code],
        )
        assert value == expected, merger.code


def test_population_totals_are_kept_at_every_level(warehouse, territory):
    for vintage in ("2025", "2026"):
        total = sum(c.population for c in territory.geography(vintage).actuelles)
        sums = dict(
            warehouse.execute(
                "select level, sum(value) from indicators.long where indicator_id = 'population' and vintage = ? group by 1",
                [vintage],
            ).fetchall()
        )
        levels = ("commune", "epci", "departement", "region", "france", "arrondissement", "canton", "zone_emploi",
                  "unite_urbaine", "aire_attraction", "bassin_vie")  # fmt: skip
        assert sums == {level: total for level in levels}


def test_change_rate_at_epci_level_is_a_ratio_of_sums_not_a_mean_of_ratios(warehouse):
    rows = warehouse.execute(
        """
        select e.code, e.value, e.numerator, e.denominator, avg(c.value) as mean_of_communes
        from indicators.long as e
        join geo.commune as g on g.epci_code = e.code
        join indicators.long as c
          on c.code = g.commune_code and c.level = 'commune' and c.indicator_id = e.indicator_id and c.vintage = e.vintage
        where e.indicator_id = 'population_change_rate' and e.level = 'epci'
        group by all
        """
    ).fetchall()
    assert rows
    differs = 0
    for code, value, numerator, denominator, mean_of_communes in rows:
        assert value == pytest.approx(100 * ((numerator / denominator) ** (1 / 1) - 1)), code
        differs += abs(value - mean_of_communes) > 1e-9
    assert differs > 0  # the two differ on real-looking data, so the test can tell them apart


def test_change_rate_is_measured_between_census_years(warehouse):
    # Etalab's 2025 and 2026 packages both carry the 2023 census: the change is measured
    # from INSEE's populations légales 2022 and 2023, over one year, labelled by census year.
    periods = warehouse.execute(
        "select distinct vintage, base_vintage, source_vintages from indicators.long "
        "where indicator_id = 'population_change_rate'"
    ).fetchall()
    assert periods == [("2023", "2022", "insee_population 2022, insee_population 2023")]


def test_catalogue_describes_every_published_indicator(warehouse):
    catalogue = dict(warehouse.execute("select indicator_id, vintages from indicators.catalogue").fetchall())
    published = {r[0] for r in warehouse.execute("select distinct indicator_id from indicators.long").fetchall()}
    assert published == set(catalogue)
    assert catalogue["population"] == ["2025", "2026"]
    columns = [r[0] for r in warehouse.execute("describe indicators.catalogue").fetchall()]
    assert {"indicator_id", "label_fr", "unit", "definition", "sources", "aggregation", "vintages"} <= set(columns)


def test_warehouse_is_marked_as_sample_and_records_its_inputs(warehouse, sample_files):
    sample_folder, _ = sample_files
    sample, notice = warehouse.execute("select sample_data, notice from meta.about").fetchone()
    assert sample is True and "ictitious" in notice
    snapshots = warehouse.execute(
        "select source, vintage, file_name, url, sha256, bytes, origin, status from meta.source_snapshots"
    ).fetchall()
    sample_files = sum(1 for _ in sample_folder.rglob("*") if _.is_file())
    assert len(snapshots) == sample_files  # every file of the mirror, once
    for source, vintage, file_name, url, sha256, size, origin, status in snapshots:
        assert url.startswith("http://127.0.0.1:") and url.endswith(f"/{source}/{vintage}/{file_name}")
        assert len(sha256) == 64 and size > 0 and origin == "mirror" and status == "valid"
    assert scalar(warehouse, "select count(*) from meta.runs where status = 'published'") == 1


def test_raw_tables_carry_vintage_and_snapshot(warehouse):
    rows = warehouse.execute(
        """
        select r._vintage, count(*), count(distinct r._snapshot_sha256)
        from raw.etalab_decoupage__communes as r
        join meta.source_snapshots as s on s.sha256 = r._snapshot_sha256
        group by 1 order by 1
        """
    ).fetchall()
    assert [(v, n > 0, shas) for v, n, shas in rows] == [("2025", True, 1), ("2026", True, 1)]


def test_a_rerun_with_nothing_new_downloads_and_rebuilds_nothing(sample_build_copy, sample_files, capsys):
    from pipelines.orchestration.run_path import run_build
    from pipelines.cli.demo import serve_directory
    from pipelines.sources.snapshots import RawStore

    home = sample_build_copy
    before = {s.sha256 for s in RawStore(home.root).snapshots()}
    folder, written = sample_files
    published_before = home.warehouse.stat().st_mtime_ns
    started = time.monotonic()
    with serve_directory(folder) as base_url:
        result = run_build(home, sources=sorted(written), vintages_by_source=written, mirror=base_url)
    elapsed = time.monotonic() - started
    with capsys.disabled():
        print(f"\nno-op re-run of the sample build: {elapsed:.1f} s")
    assert result.success and result.up_to_date
    # one ingestion run per source (two for a source whose vintages are not consecutive), then
    # the transformation run, whose dbt step did nothing: publish, exports and docs skipped
    assert [r.outcome for r in result.runs] == [None] * (len(result.runs) - 1) + ["up_to_date"]
    assert home.warehouse.stat().st_mtime_ns == published_before
    from pipelines.cli.status import render_status

    status = render_status(home)
    assert "up_to_date" in status and "transform: programme inputs, dbt, publish, exports, docs" in status
    assert result.source_statuses == {
        source: {vintage: "unchanged" for vintage in vintages} for source, vintages in written.items()
    }
    assert {s.sha256 for s in RawStore(home.root).snapshots()} == before
    files = sum(1 for _ in folder.rglob("*") if _.is_file())
    attempts = RawStore(home.root).attempts()[-files:]
    assert {a["status"] for a in attempts} == {"unchanged"}


def test_each_build_writes_offline_dbt_docs_with_the_indicator_definitions(sample_build):
    home, _ = sample_build
    page = (home.docs / "index.html").read_text(encoding="utf-8")
    assert "indicators_long" in page and "rebuilt from the summed numerator" in page
    # one self-contained page: no script or stylesheet fetched from elsewhere
    assert "<script src=\"http" not in page and "<link rel=\"stylesheet\" href=\"http" not in page


def test_the_2025_package_carries_the_2023_legal_population(warehouse):
    # Etalab 5.3.0 (vintage 2025) and 6.0.0 (2026) both carry the populations légales 2023.
    vintages = load_catalogue()["etalab_decoupage"].vintages
    assert vintages["2025"].extra["package_version"] == "5.3.0"
    assert {v: vintages[v].extra["population_year"] for v in vintages} == {
        "2023": "2020", "2024": "2022", "2025": "2023", "2026": "2023",
    }
    labels = warehouse.execute(
        "select vintage, list(distinct population_year) from staging.stg_etalab_decoupage__communes "
        "where population is not null group by 1 order by 1"
    ).fetchall()
    assert labels == [("2025", [2023]), ("2026", [2023])]
