"""Publishing replaces the warehouse whole or not at all; readers of the old one are undisturbed."""

from __future__ import annotations

import duckdb
import pytest

from pipelines.warehouse.publish import PublishError, new_build_id, publish

pytestmark = pytest.mark.integration


def build_id_of(path):
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute("select build_id from meta.about").fetchone()[0]


def test_a_reader_of_the_old_warehouse_keeps_reading_during_a_publish(sample_build_copy):
    home = sample_build_copy
    old_id = build_id_of(home.warehouse)
    reader = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        before = reader.execute("select count(*) from indicators.long").fetchone()[0]
        report = publish(home, build_id=new_build_id(), sample=True)
        # the old file is still open and complete for the reader
        assert reader.execute("select build_id from meta.about").fetchone()[0] == old_id
        assert reader.execute("select count(*) from indicators.long").fetchone()[0] == before
    finally:
        reader.close()
    assert build_id_of(home.warehouse) == report.build_id != old_id
    assert list(home.builds.glob("*.duckdb")) == []  # the candidate was renamed into place


def test_a_build_failing_its_publish_checks_leaves_the_previous_warehouse(sample_build_copy):
    home = sample_build_copy
    old_id = build_id_of(home.warehouse)
    with duckdb.connect(str(home.work_db)) as con:
        con.execute("insert into geo.commune select * from geo.commune limit 1")  # a duplicated code
    with pytest.raises(PublishError, match="commune codes are unique: 1 offending row"):
        publish(home, build_id="bad-build", sample=True)
    assert build_id_of(home.warehouse) == old_id
    assert list(home.builds.glob("*.duckdb")) == []
    with duckdb.connect(str(home.work_db), read_only=True) as con:
        status, detail = con.execute("select status, detail from meta.runs where build_id = 'bad-build'").fetchone()
    assert status == "failed" and "previous warehouse stays in place" in detail


def test_a_failing_dbt_test_stops_the_build_before_publishing(sample_build_copy):
    from pipelines.orchestration.run_path import run_build

    home = sample_build_copy
    old_id = build_id_of(home.warehouse)
    with duckdb.connect(str(home.work_db)) as con:  # a duplicated EPCI row slips into the raw table
        con.execute("insert into raw.etalab_decoupage__epci select * from raw.etalab_decoupage__epci limit 1")
    # forced: the transformation runs though no snapshot changed (anct_frr is parsed again;
    # etalab_decoupage, with its extra row, is not)
    result = run_build(home, sources=["anct_frr"], offline=True, force=True)
    assert not result.success
    assert any("unique_combination_of_columns_stg_etalab_decoupage__epci" in step for step in result.failed_steps)
    assert build_id_of(home.warehouse) == old_id
