"""Benchmark of the insee_sirene reader on a synthetic national-size stock (not a test).

Writes a StockEtablissement_utf8.parquet of --rows rows (20 million by default) in
data.gouv.fr's layout (54 columns, same types) into a temporary folder, then runs the reader
in a fresh process and prints its wall time and peak memory (resident set size, from
resource.getrusage and /proc's VmHWM). With --zip it also writes INSEE's zipped CSV of the
same rows and times the reader on it. The files are written by child processes too: on Linux
a child's ru_maxrss starts from its parent's size, so the parent stays small.

    .venv/bin/python tests/bench_sirene.py [--rows 20000000] [--zip] [--keep DIR]

About 2.5 % of the rows carry one of the catalogue's NAF codes and about 45 % are active,
close to the proportions of the real stock.
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

from pipelines.sample.insee_sirene import COLUMNS  # noqa: E402
from pipelines.sources.readers.insee_sirene import naf_codes_for  # noqa: E402

VINTAGE = "2026-11"
OTHER_CODES = 273  # synthetic NAF codes beside the 7 of the catalogue

# SQL for each generated column; h is a pseudo-random 64-bit number per row.
GENERATED = {
    "siren": "lpad(cast(100000000 + i // 2 as varchar), 9, '0')",
    "nic": "lpad(cast(1 + i % 2 as varchar), 5, '0')",
    "siret": "lpad(cast(100000000 + i // 2 as varchar), 9, '0') || lpad(cast(1 + i % 2 as varchar), 5, '0')",
    "statutDiffusionEtablissement": "case when h % 100 < 3 then 'P' else 'O' end",
    "dateCreationEtablissement": "DATE '1975-01-01' + cast(h % 18000 as integer)",
    "trancheEffectifsEtablissement": "['NN', '00', '01', '02', '03', '11'][1 + cast(h % 6 as integer)]",
    "anneeEffectifsEtablissement": "cast(2023 as bigint)",
    "dateDernierTraitementEtablissement": "TIMESTAMP '2026-10-31 23:00:00' - to_seconds(cast(h % 300000000 as bigint))",
    "etablissementSiege": "i % 2 = 0",
    "nombrePeriodesEtablissement": "cast(1 + h % 3 as bigint)",
    "numeroVoieEtablissement": "cast(h % 120 as varchar)",
    "typeVoieEtablissement": "'RUE'",
    "libelleVoieEtablissement": "'DE LA GARE ' || cast(h % 1000 as varchar)",
    "codePostalEtablissement": "lpad(cast(1000 + h % 94000 as varchar), 5, '0')",
    "libelleCommuneEtablissement": "'COMMUNE ' || cast(h % 35000 as varchar)",
    "codeCommuneEtablissement": "lpad(cast(1000 + (h >> 8) % 94000 as varchar), 5, '0')",
    "identifiantAdresseEtablissement": "lpad(cast(1000 + (h >> 8) % 94000 as varchar), 5, '0') || '_0001_00001'",
    "coordonneeLambertAbscisseEtablissement": "cast(100000 + h % 1000000 as varchar) || '.5'",
    "coordonneeLambertOrdonneeEtablissement": "cast(6100000 + (h >> 4) % 1000000 as varchar) || '.5'",
    "dateDebut": "DATE '1975-01-01' + cast(h % 18000 as integer)",
    "etatAdministratifEtablissement": "case when (h >> 16) % 100 < 45 then 'A' else 'F' end",
    "enseigne1Etablissement": "case when h % 5 = 0 then 'ENSEIGNE ' || cast(h % 100000 as varchar) end",
    "activitePrincipaleEtablissement": "code",
    "nomenclatureActivitePrincipaleEtablissement": "'NAFRev2'",
    "caractereEmployeurEtablissement": "case when h % 3 = 0 then 'O' else 'N' end",
    "activitePrincipaleNAF25Etablissement": "code",
}


def generate(path: Path, rows: int) -> None:
    """Write the synthetic stock with DuckDB (streamed: never held in memory)."""
    codes = [*naf_codes_for(VINTAGE), *(f"{90 + n // 100:02d}.{n % 100:02d}Z" for n in range(OTHER_CODES))]
    sql_types = {
        "string": "varchar", "date32[day]": "date", "timestamp[us]": "timestamp", "bool": "boolean", "int64": "bigint",
    }  # fmt: skip
    columns = [
        f'{GENERATED.get(name, f"cast(null as {sql_types[str(dtype)]})")} as "{name}"' for name, dtype in COLUMNS
    ]
    con = duckdb.connect()
    con.execute(
        f"""
        copy (
            select {", ".join(columns)}
            from (
                select i, h, $codes[1 + cast(h % {len(codes)} as integer)] as code
                from (select range as i, hash(range) as h from range({rows}))
            )
        ) to '{path}' (format parquet, compression snappy, row_group_size 122880)
        """,
        {"codes": codes},
    )
    con.close()


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
