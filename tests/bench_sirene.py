"""Benchmark of the insee_sirene reader on a synthetic national-size stock (not a test).

Writes a StockEtablissement_utf8.parquet of --rows rows (20 million by default) in
data.gouv.fr's layout (54 columns, same types) into a temporary folder, then runs the reader
in a fresh process and prints its wall time and peak memory (resident set size, from
resource.getrusage and /proc's VmHWM). With --zip it also writes INSEE's zipped CSV of the
same rows and times the reader on it. The files are written by child processes too: on Linux
a child's ru_maxrss starts from its parent's size, so the parent stays small.

    .venv/bin/python tests/bench_sirene.py [--rows 20000000] [--zip] [--keep DIR]

The rows are those of the national sample's stock (pipelines/sample/national/insee_sirene.py)
over the national territory's communes: about 2 % carry one of the catalogue's NAF codes and
45 % are active, close to the proportions of the real stock.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import duckdb

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from pipelines.sample.insee_sirene import VINTAGE  # noqa: E402
from pipelines.sample.national.insee_sirene import write_stock  # noqa: E402
from pipelines.sample.national.territory import build_national_territory  # noqa: E402


def generate(path: Path, rows: int) -> None:
    """Write the synthetic stock with DuckDB (streamed: never held in memory)."""
    with build_national_territory(1.0).connect() as con:
        write_stock(con, path, rows)


def write_zip(parquet: Path, path: Path) -> None:
    """INSEE's layout: one UTF-8 comma-separated CSV in a ZIP, streamed from the Parquet."""
    csv_path = path.with_suffix(".csv")
    con = duckdb.connect()
    con.execute(
        f"""
        copy (select * replace (
                strftime(dateDernierTraitementEtablissement, '%Y-%m-%dT%H:%M:%S') as dateDernierTraitementEtablissement)
              from read_parquet('{parquet}'))
        to '{csv_path}' (header, delimiter ',')
        """
    )
    con.close()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.write(csv_path, "StockEtablissement_utf8.csv")
    csv_path.unlink()


def in_child(*arguments: str) -> str:
    """Run this script with arguments in a fresh process and return what it printed."""
    return subprocess.run([sys.executable, __file__, *arguments], capture_output=True, text=True, check=True).stdout


def measure(path: Path) -> dict:
    """Run the reader on one file in a fresh process: rows kept, seconds, peak RSS."""
    return json.loads(in_child("--read", str(path)).strip().splitlines()[-1])


def read_once(path: Path) -> None:
    """Child process: run the reader once and print what it cost."""
    from pipelines.sources.readers.insee_sirene import read

    start = time.perf_counter()
    frame, _ = read([path], VINTAGE)["establishments"]
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux
    status = Path("/proc/self/status")  # VmHWM: the peak of this process alone
    lines = status.read_text().splitlines() if status.exists() else []
    hwm = [line.split()[1] for line in lines if line.startswith("VmHWM")]
    print(json.dumps({
        "rows_kept": frame.height, "seconds": round(seconds, 1), "peak_rss_mb": round(peak_mb),
        "vm_hwm_mb": round(int(hwm[0]) / 1024) if hwm else None,
    }))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--zip", action="store_true", help="also benchmark the zipped CSV")
    parser.add_argument("--keep", type=Path, help="write the files here and keep them")
    parser.add_argument("--read", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--generate", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--zip-from", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.read:
        read_once(args.read)
        return
    if args.generate:
        generate(args.generate, args.rows)
        return
    if args.zip_from:
        write_zip(args.zip_from, args.zip_from.with_suffix(".zip"))
        return
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench_sirene-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        parquet = folder / "StockEtablissement_utf8.parquet"
        start = time.perf_counter()
        in_child("--generate", str(parquet), "--rows", str(args.rows))
        size = parquet.stat().st_size / 1024**2
        print(f"generated {args.rows:,} rows, {size:,.0f} MB of Parquet in {time.perf_counter() - start:.0f} s")
        print("parquet:", measure(parquet))
        if args.zip:
            archive = folder / "StockEtablissement_utf8.zip"
            start = time.perf_counter()
            in_child("--zip-from", str(parquet))
            size = archive.stat().st_size / 1024**2
            print(f"zipped CSV: {size:,.0f} MB in {time.perf_counter() - start:.0f} s")
            print("zip:", measure(archive))
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
