"""The benchmark's two references give the warehouse's numbers, on the demo sample.

benchmarks/bare_engine.py (DuckDB alone) and benchmarks/pandas_baseline.py (pandas and numpy
alone) compute population, gp_count, gp_per_10k, cafe_count, dist_station_km and
transit_departures_per_day at every level straight from the sample mirror's files; the
published warehouse of the sample build must hold the same rows (benchmarks/indicators.py says
what is compared). `compare` itself is checked not to pass vacuously.
"""

from __future__ import annotations

import pandas as pd
import pytest

from benchmarks import bare_engine, pandas_baseline
from benchmarks.indicators import COLUMNS, COMPARED_LEVELS, SCHEMA, compare, mirror_files, summarise, warehouse_rows


@pytest.fixture(scope="module")
def expected(sample_files, sample_build):
    """The warehouse's compared rows (with a value), for the vintages the references compute."""
    folder, _ = sample_files
    home, _ = sample_build
    return warehouse_rows(home.warehouse, mirror_files(folder).vintages)


def test_the_warehouse_has_every_compared_indicator_and_level(expected):
    """Nothing is compared vacuously: every indicator has rows at every level it is compared at.

    Except dist_station_km for France: La Réunion has no station, so the communes with a
    distance hold under 90 % of the population (coverage rule), and neither side has a value.
    """
    found = set(zip(expected["indicator_id"], expected["level"]))
    wanted = {(indicator, level) for indicator, levels in COMPARED_LEVELS.items() for level in levels}
    assert wanted - found == {("dist_station_km", "france")}
    communes = expected[expected["level"] == "commune"].groupby("indicator_id").size()
    assert communes.min() >= 200, communes  # the sample's 266 communes, most with a station in their zone


def test_the_bare_engine_gives_the_warehouse_values(sample_files, expected, tmp_path):
    folder, _ = sample_files
    result = bare_engine.compute(folder, tmp_path / "work")
    assert result.schema == SCHEMA
    assert result.num_rows == len(expected)
    # Same engine, same formulas: only the weighted means' sums may come out in another order.
    mismatches = compare(result, expected, tolerance=1e-9)
    assert not mismatches, summarise(mismatches)


def test_the_pandas_baseline_gives_the_warehouse_values(sample_files, expected, tmp_path):
    folder, _ = sample_files
    result = pandas_baseline.compute(folder, tmp_path / "work")
    assert list(result.columns) == list(COLUMNS)
    assert len(result) == len(expected)
    # Counts, populations and GPs per 10,000 (integers summed, one division done alike): exact.
    # Distances: the baseline projects with its own numpy formulas (Lambert-93, UTM), which agree
    # with PROJ (DuckDB's st_transform) within 10 nm, i.e. about 1e-11 relative on distances of
    # kilometres, and pandas sums the weighted means' terms in another order (about 1e-15):
    # 1e-9 relative (absolute under 1 km, i.e. 1 µm) leaves room without hiding a real error.
    mismatches = compare(result, expected, tolerance={"dist_station_km": 1e-9})
    assert not mismatches, summarise(mismatches)


def test_compare_reports_wrong_missing_and_extra_rows(expected):
    """A value off by one, a row dropped and a row added are each reported; a difference within
    the tolerance is not, and one beyond it is."""
    reference = expected.copy()
    gp = reference.index[(reference["indicator_id"] == "gp_count") & (reference["level"] == "departement")][0]
    reference.loc[gp, "value"] += 1
    dropped = reference.index[(reference["indicator_id"] == "population") & (reference["level"] == "commune")][0]
    dropped_key = tuple(reference.loc[dropped, ["indicator_id", "level", "code", "vintage"]])
    extra = reference.loc[[dropped]].assign(code="99999")
    reference = pd.concat([reference.drop(index=dropped), extra])

    mismatches = compare(reference, expected, tolerance=1e-9)
    by_kind = {m.kind: m for m in mismatches}
    assert sorted(m.kind for m in mismatches) == ["extra", "missing", "value"], summarise(mismatches)
    assert by_kind["value"].indicator_id == "gp_count" and by_kind["value"].level == "departement"
    assert by_kind["value"].reference == by_kind["value"].warehouse + 1
    assert (by_kind["missing"].indicator_id, by_kind["missing"].level, by_kind["missing"].code, by_kind["missing"].vintage) == dropped_key
    assert by_kind["extra"].code == "99999"
    assert "gp_count" in str(by_kind["value"])

    distance = expected.index[(expected["indicator_id"] == "dist_station_km") & (expected["value"] > 1)][0]
    close = expected.copy()
    close.loc[distance, "value"] *= 1 + 1e-12
    assert compare(close, expected, tolerance=1e-9) == []
    assert [m.kind for m in compare(close, expected, tolerance=0)] == ["value"]
    assert [m.kind for m in compare(close, expected)] == []  # the default: distances within 1e-9
