"""One step of a build, run alone in its own process so that its wall time and peak memory can be measured.

    python -m benchmarks.steps fetch      --home H --mirror URL --plan plan.json
    python -m benchmarks.steps load       --home H --source S --plan plan.json
    python -m benchmarks.steps dbt        --home H
    python -m benchmarks.steps publish    --home H
    python -m benchmarks.steps exports    --home H
    python -m benchmarks.steps atlas      --home H
    python -m benchmarks.steps atlas-page --home H   (the commune map of the atlas in headless Chromium)
    python -m benchmarks.steps sirene-cafes --file StockEtablissement_utf8.parquet --vintage 2026-11
    python -m benchmarks.steps reference  --which bare_engine|pandas_baseline --mirror DIR --out result.parquet
    python -m benchmarks.steps bare-load  --source S --mirror DIR --out bare.duckdb

Each step calls the functions the Dagster assets call (fetch, parse, validate and load of
pipelines/warehouse/ingestion.py; the programme inputs and `dbt build`; publish; exports),
without Dagster around them: `territoires build`, measured by the harness as a whole, is
the same work plus Dagster's runs. A step prints one JSON line on its last line (what it
did), which the harness keeps.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from pipelines.settings import DBT_PROJECT_DIR, DataHome, quiet_telemetry

quiet_telemetry()


def _plan(path: str) -> dict[str, list[str]]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def fetch(home: DataHome, mirror: str, plan: dict[str, list[str]]) -> dict:
    """Every file of every planned vintage, from the mirror into raw snapshots; nothing parsed."""
    from pipelines.sources.catalogue import get_source
    from pipelines.sources.fetch import Fetcher
    from pipelines.sources.snapshots import RawStore
    from pipelines.warehouse.ingestion import MISSING, VintageOutcome, fetch_vintage

    store = RawStore(home.root)
    downloaded, failures = 0, []
    with Fetcher(store, mirror=mirror, progress=False) as fetcher:
        for source_id, vintages in plan.items():
            for vintage in vintages:
                outcome = VintageOutcome(vintage, MISSING)
                fetch_vintage(store, fetcher, get_source(source_id), vintage, outcome)
                downloaded += outcome.downloaded_bytes
                failures += outcome.fetch_errors
    if failures:
        raise SystemExit(f"fetch failed: {'; '.join(failures[:5])}")
    return {"downloaded_bytes": downloaded}


def load(home: DataHome, source_id: str, vintages: list[str]) -> dict:
    """Parse, validate and load the stored snapshots of one source (offline, forced: every vintage is read),
    then the snapshot tables, as the source's raw asset does."""
    import duckdb

    from pipelines.sources.catalogue import get_source
    from pipelines.sources.snapshots import RawStore
    from pipelines.warehouse.ingestion import LOADED, ingest_source
    from pipelines.warehouse.meta import refresh_snapshot_tables

    store = RawStore(home.root)
    with duckdb.connect(str(home.work_db)) as con:
        outcome = ingest_source(con, store, None, get_source(source_id), vintages, sample=True, force=True)
        refresh_snapshot_tables(con, store)
    bad = [f"{v.vintage}: {v.status} {v.detail}" for v in outcome.vintages if v.status != LOADED]
    if bad:
        raise SystemExit(f"{source_id} did not load: {'; '.join(bad)}")
    return {"rows": {v.vintage: v.rows for v in outcome.vintages}}


def dbt(home: DataHome) -> dict:
    """The programme inputs, then `dbt build` of the whole project into the build database."""
    import duckdb

    from pipelines.programmes.inputs import ensure_programme_tables, write_published_targets, write_rule_tables
    from pipelines.sources.catalogue import load_catalogue
    from pipelines.warehouse.ingestion import ensure_raw_tables
    from pipelines.warehouse.meta import ensure_meta_tables

    with duckdb.connect(str(home.work_db)) as con:
        ensure_meta_tables(con)
        for source in load_catalogue().values():
            ensure_raw_tables(con, source)
        ensure_programme_tables(con)
        write_rule_tables(con)
        write_published_targets(con, home.warehouse)
    target = home.work_db.parent / "dbt_target"
    env = {**os.environ, "TERRITOIRES_WORK_DB": str(home.work_db)}
    command = [str(Path(sys.executable).with_name("dbt")), "build", "--quiet", "--project-dir", str(DBT_PROJECT_DIR),
               "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(target)]  # fmt: skip
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"dbt build failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return {"run_results": str(target / "run_results.json")}


def publish(home: DataHome) -> dict:
    from pipelines.warehouse.publish import new_build_id
    from pipelines.warehouse.publish import publish as publish_warehouse

    report = publish_warehouse(home, build_id=new_build_id(), sample=True)
    return {"build_id": report.build_id, "bytes": report.bytes}


def exports(home: DataHome) -> dict:
    from pipelines.warehouse.exports import export_warehouse

    report = export_warehouse(home.warehouse, home.exports)
    return {"files": len(report.manifest["files"]), "bytes": sum(f["bytes"] for f in report.manifest["files"])}


def atlas(home: DataHome) -> dict:
    from pipelines.atlas.site import write_atlas

    report = write_atlas(home.warehouse, home.atlas)
    return {"files": report.files, "bytes": report.bytes, "commune_layer_bytes": report.shape_bytes.get("commune")}


def atlas_page(home: DataHome) -> dict:
    """Open the commune map of the atlas in headless Chromium (Debian's), served on 127.0.0.1:
    seconds from navigation to the map drawn (the page's data-ready), and the draw alone."""
    import re
    import shutil
    import threading

    from playwright.sync_api import sync_playwright

    from pipelines.atlas.serve import atlas_server

    meta = (home.atlas / "data" / "meta.js").read_text(encoding="utf-8")
    vintage = re.search(r'"id": "population".*?"latest_vintage": "([^"]+)"', meta).group(1)
    server = atlas_server(home.atlas, 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/indicator.html#population/commune/{vintage}"
    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--no-first-run", "--disable-sync", "--disable-quic"]  # fmt: skip
    loads = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium", args=args)
        for _ in range(3):  # a fresh page each time: nothing cached
            context = browser.new_context(viewport={"width": 1366, "height": 900})
            page = context.new_page()
            started = time.monotonic()
            page.goto(url)
            page.wait_for_selector("body[data-ready='1']", timeout=60_000)
            loads.append({"ready_s": round(time.monotonic() - started, 3), "draw_ms": page.evaluate("ATLAS.timing.mapDraw")})
            context.close()
        browser.close()
    server.shutdown()
    ready = sorted(load["ready_s"] for load in loads)
    return {"url": url, "loads": loads, "ready_median_s": ready[1]}


def sirene_cafes(path: Path, vintage: str) -> dict:
    """The Sirene reader on the stock, asked for the active cafés only (56.30Z, or 56.30Y in NAF 2025), then cafés per commune."""
    from pipelines.sources.readers.insee_sirene import read

    frame, _ = read(
        [path], vintage, naf_codes=("56.30Z",), naf25_codes=("56.30Y",), naf_prefixes=(), naf25_prefixes=(),
        closed_within_years=0,
    )["establishments"]  # fmt: skip
    per_commune = frame.group_by("codeCommuneEtablissement").len()
    return {"cafes": frame.height, "communes_with_a_cafe": per_commune.height}


def reference(which: str, mirror: Path, out: Path, work: Path) -> dict:
    """A reference (bare engine or pandas baseline) on the mirror's files; its rows go to `out` (Parquet)."""
    import importlib

    import pyarrow as pa
    import pyarrow.parquet as pq

    module = importlib.import_module(f"benchmarks.{which}")
    work.mkdir(parents=True, exist_ok=True)
    result = module.compute(mirror, work)
    table = result if isinstance(result, pa.Table) else (result.to_arrow() if hasattr(result, "to_arrow") else pa.Table.from_pandas(result, preserve_index=False))
    pq.write_table(table, out)
    return {"rows": table.num_rows, "parts": {k: round(v, 3) for k, v in getattr(module, "parts", {}).items()}}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.steps", description=__doc__.split("\n\n")[0])
    parser.add_argument("step", choices=["fetch", "load", "dbt", "publish", "exports", "atlas", "atlas-page", "sirene-cafes", "reference", "bare-load"])
    parser.add_argument("--home", type=Path)
    parser.add_argument("--mirror")
    parser.add_argument("--plan")
    parser.add_argument("--source")
    parser.add_argument("--file", type=Path)
    parser.add_argument("--vintage")
    parser.add_argument("--which", choices=["bare_engine", "pandas_baseline"])
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    home = DataHome(args.home).ensure() if args.home else None
    started = time.monotonic()
    if args.step == "fetch":
        done = fetch(home, args.mirror, _plan(args.plan))
    elif args.step == "load":
        done = load(home, args.source, _plan(args.plan)[args.source])
    elif args.step == "dbt":
        done = dbt(home)
    elif args.step == "publish":
        done = publish(home)
    elif args.step == "exports":
        done = exports(home)
    elif args.step == "atlas":
        done = atlas(home)
    elif args.step == "atlas-page":
        done = atlas_page(home)
    elif args.step == "sirene-cafes":
        done = sirene_cafes(args.file, args.vintage)
    elif args.step == "bare-load":
        from benchmarks.bare_loads import load as bare_load

        done = bare_load(args.source, Path(args.mirror), args.out, args.out.with_suffix(".work"))
    else:
        done = reference(args.which, Path(args.mirror), args.out, args.out.with_suffix(".work"))
    print(json.dumps({"step": args.step, "seconds_inside": round(time.monotonic() - started, 3), **done}))


if __name__ == "__main__":
    main()
