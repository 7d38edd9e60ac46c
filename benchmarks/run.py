"""`make bench`: the build at national size, step by step, against the bare engine and a pandas baseline.

    make bench                      # national size (about 35,000 communes), 3 runs
    make bench SCALE=0.25 RUNS=1    # a quarter of it, once
    uv run python -m benchmarks.run --scale 0.5 --runs 3 --work /big/disk/bench

1. `territoires sample --scale S` writes the national sample (kept in the work folder and
   reused while the generator and the scale are the same), served by a local HTTP mirror.
2. Each run starts from an empty data home (marked as sample data) and measures, each in
   its own process (`benchmarks/steps.py`), wall time and peak resident memory of: fetch +
   snapshot, the load of each source (parse, validate, load), the programme inputs and
   `dbt build`, publish, exports; then `territoires build --offline` on a fresh data home
   holding only the snapshots (the full build from cached raw files, through Dagster as in
   production), the same command again (a no-op rebuild), the Sirene café extraction alone,
   the two references on the same files, and DuckDB alone loading the files of the heaviest
   sources (benchmarks/bare_loads.py), the floor of their loads. dbt's own timings give the ten slowest models
   and the time of the distance and programme models.
3. The references' numbers are checked against the published warehouse (benchmarks/indicators.py).
4. Median, min and max over the runs go to benchmarks/results/<date>.json (one record per
   scale) and <date>.md, and are printed with each step's ratio to the bare engine doing the
   same work and the whole build's ratio to the pandas baseline.

Peak memory is the largest resident set of the step's process and the children it waited
for (dbt), from wait4(2). Targets are reported, not asserted.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

from benchmarks.bare_loads import LOADS as BARE_LOADS

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RESULTS = PROJECT_ROOT / "benchmarks" / "results"
TERRITOIRES = str(Path(sys.executable).with_name("territoires"))
STEPS = [sys.executable, "-m", "benchmarks.steps"]

# dbt models whose time is reported as "distances" and "programmes" (from dbt's run_results.json).
DISTANCE_MODELS = ("int_commune_reference_points", "int_facility_points", "int_nearest_facility", "int_indicator_parts__distances")
PROGRAMME_PREFIX = "programmes_"

# Targets of the benchmark (seconds, MB), printed beside the figures.
TARGETS = {
    "full build from cached raw files": (60, 3072),
    "no-op rebuild": (10, None),
    "sirene cafés alone": (5, 1536),
    "distances (dbt models)": (5, None),
    "atlas": (60, None),
}


@dataclass
class Measure:
    """One process: wall seconds, peak resident MB, and what it printed on its last line (JSON)."""

    seconds: float
    peak_mb: float
    said: dict = field(default_factory=dict)


class StepFailed(RuntimeError):
    pass


def measure(command: list[str], env: dict[str, str], log: Path) -> Measure:
    """Run a command to its end; its wall time and the peak RSS of it and its waited-for children."""
    with open(log, "a", encoding="utf-8") as sink:
        sink.write(f"\n$ {' '.join(command)}\n")
        sink.flush()
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=sink, text=True, cwd=PROJECT_ROOT)
        output = process.stdout.read()
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        sink.write(output)
    if process.returncode != 0:
        tail = "\n".join(output.strip().splitlines()[-5:])
        raise StepFailed(f"{' '.join(command[-4:])} exited with {process.returncode} (log: {log})\n{tail}")
    last = output.strip().splitlines()[-1] if output.strip() else ""
    try:
        said = json.loads(last)
    except json.JSONDecodeError:
        said = {}
    return Measure(seconds, usage.ru_maxrss / 1024, said)


# ----------------------------------------------------------------------------- the mirror


def generator_fingerprint(scale: float, seed: int | None) -> str:
    """What the sample files depend on: the generator's code, the scale and the seed."""
    digest = hashlib.sha256(f"{scale}:{seed}".encode())
    for path in sorted((PROJECT_ROOT / "pipelines" / "sample").rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def national_sample(work: Path, scale: float, seed: int | None, env: dict[str, str], log: Path) -> tuple[Path, dict, Measure | None]:
    """The mirror folder, the vintages written by source, and the generation's measure (None when reused)."""
    mirror, stamp = work / "mirror", work / "mirror.json"
    wanted = generator_fingerprint(scale, seed)
    if stamp.exists():
        recorded = json.loads(stamp.read_text(encoding="utf-8"))
        if recorded["fingerprint"] == wanted and mirror.is_dir():
            return mirror, recorded["written"], None
    shutil.rmtree(mirror, ignore_errors=True)
    stamp.unlink(missing_ok=True)
    command = [TERRITOIRES, "sample", "--scale", str(scale), "--out", str(mirror)] + (["--seed", str(seed)] if seed is not None else [])
    generated = measure(command, env, log)
    written = _written(mirror)
    stamp.write_text(json.dumps({"fingerprint": wanted, "written": written}), encoding="utf-8")
    return mirror, written, generated


def _written(mirror: Path) -> dict[str, list[str]]:
    return {
        source.name: sorted(v.name for v in source.iterdir() if v.is_dir())
        for source in sorted(mirror.iterdir())
        if source.is_dir()
    }


# ----------------------------------------------------------------------------- one run


def one_run(n: int, work: Path, mirror: Path, url: str, plan: dict, env: dict[str, str], log: Path) -> dict[str, Measure]:
    from pipelines.orchestration.resources import SAMPLE_MARKER

    measures: dict[str, Measure] = {}

    def step(label: str, command: list[str], step_env: dict[str, str] | None = None) -> Measure:
        print(f"  run {n}: {label} …", end="", flush=True)
        measures[label] = measure(command, step_env or env, log)
        print(f" {measures[label].seconds:.1f} s, {measures[label].peak_mb:,.0f} MB", flush=True)
        return measures[label]

    home = _fresh_home(work / "steps", SAMPLE_MARKER)
    plan_file = work / "plan.json"
    plan_file.write_text(json.dumps(plan), encoding="utf-8")
    common = ["--home", str(home), "--plan", str(plan_file)]
    step("fetch + snapshot", [*STEPS, "fetch", *common, "--mirror", url])
    for source in sorted(plan):
        step(f"load {source}", [*STEPS, "load", *common, "--source", source])
    step("dbt build", [*STEPS, "dbt", "--home", str(home)])
    _dbt_timings(Path(measures["dbt build"].said["run_results"]), measures)
    step("publish", [*STEPS, "publish", "--home", str(home)])
    step("exports", [*STEPS, "exports", "--home", str(home)])
    step("atlas", [*STEPS, "atlas", "--home", str(home)])
    step("atlas commune map in Chromium", [*STEPS, "atlas-page", "--home", str(home)])

    full = _fresh_home(work / "full", SAMPLE_MARKER)
    shutil.copytree(home / "raw", full / "raw")  # the cached raw files, nothing else
    build_env = {**env, "TERRITOIRES_HOME": str(full)}
    step("full build from cached raw files", [TERRITOIRES, "build", "--offline"], build_env)
    step("no-op rebuild", [TERRITOIRES, "build", "--offline"], build_env)

    stock = next((mirror / "insee_sirene").glob("*/StockEtablissement_utf8.parquet"))
    step("sirene cafés alone", [*STEPS, "sirene-cafes", "--file", str(stock), "--vintage", stock.parent.name])
    for which, label in (("bare_engine", "bare engine"), ("pandas_baseline", "pandas baseline")):
        step(label, [*STEPS, "reference", "--which", which, "--mirror", str(mirror), "--out", str(work / f"{which}.parquet")])
    for source in sorted(set(BARE_LOADS) & set(plan)):
        step(f"bare load {source}", [*STEPS, "bare-load", "--source", source, "--mirror", str(mirror), "--out", str(work / "bare.duckdb")])
    return measures


def _fresh_home(path: Path, marker: str) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    (path / marker).write_text("Fictitious national sample written by `territoires sample` for the benchmark.\n", encoding="utf-8")
    return path


def _dbt_timings(run_results: Path, measures: dict[str, Measure]) -> None:
    """The distance and programme models' time, and the ten slowest models, from dbt's own timings."""
    results = json.loads(run_results.read_text(encoding="utf-8"))["results"]
    models = {r["unique_id"].split(".")[-1]: r["execution_time"] for r in results if r["unique_id"].startswith("model.")}
    measures["distances (dbt models)"] = Measure(sum(models.get(m, 0.0) for m in DISTANCE_MODELS), 0.0)
    measures["programmes (dbt models)"] = Measure(sum(t for m, t in models.items() if m.startswith(PROGRAMME_PREFIX)), 0.0)
    slowest = sorted(models.items(), key=lambda item: -item[1])[:10]
    measures["dbt build"].said["slowest_models"] = [[name, round(seconds, 2)] for name, seconds in slowest]
    measures["dbt build"].said["models"] = len(models)
    measures["dbt build"].said["nodes"] = len(results)


# ----------------------------------------------------------------------------- checks and report


def check_references(work: Path, mirror: Path, warehouse: Path) -> dict[str, dict]:
    """Each reference's rows against the published warehouse: compared rows and mismatches."""
    import pyarrow.parquet as pq

    from benchmarks.indicators import compare, mirror_files, warehouse_rows

    expected = warehouse_rows(warehouse, mirror_files(mirror).vintages)
    checks = {}
    for which in ("bare_engine", "pandas_baseline"):
        mismatches = compare(pq.read_table(work / f"{which}.parquet"), expected)
        checks[which] = {"rows": len(expected), "mismatches": len(mismatches), "examples": [str(m) for m in mismatches[:5]]}
    return checks


def summarise(runs: list[dict[str, Measure]]) -> dict[str, dict]:
    steps: dict[str, dict] = {}
    for label in runs[0]:
        seconds = [r[label].seconds for r in runs if label in r]
        peaks = [r[label].peak_mb for r in runs if label in r]
        steps[label] = {
            "seconds": {"median": statistics.median(seconds), "min": min(seconds), "max": max(seconds)},
            "peak_mb": {"median": statistics.median(peaks), "min": min(peaks), "max": max(peaks)},
            "said": runs[-1][label].said,
        }
    return steps


# What does the same work as a step with nothing around it (its time is the step's floor):
# DuckDB alone loading the same files (benchmarks/bare_loads.py), or a part of the bare engine.
SAME_WORK_STEPS = {f"load {source}": f"bare load {source}" for source in BARE_LOADS}
SAME_WORK_PARTS = {"sirene cafés alone": "cafe_count", "distances (dbt models)": "dist_station_km"}


def floor_of(label: str, steps: dict, parts: dict) -> float | None:
    if label in SAME_WORK_STEPS and SAME_WORK_STEPS[label] in steps:
        return steps[SAME_WORK_STEPS[label]]["seconds"]["median"]
    return parts.get(SAME_WORK_PARTS.get(label, ""))


def markdown(record: dict) -> str:
    steps, bare, parts = record["steps"], record["steps"].get("bare engine"), record.get("bare_engine_parts", {})
    lines = [
        f"## Scale {record['scale']:g} — {record['communes']:,} communes, {record['runs']} run(s), {record['date']}",
        "",
        f"Machine: {record['machine']}. Mirror: {record['mirror_gb']:.2f} GB. Median (min–max) of the runs.",
        "",
        "| step | wall s | peak MB | × bare engine | target |",
        "|---|---:|---:|---:|---|",
    ]
    for label, s in steps.items():
        sec, mb = s["seconds"], s["peak_mb"]
        floor = floor_of(label, steps, parts)
        ratio = f"{sec['median'] / floor:.1f}" if floor else ""
        target = TARGETS.get(label)
        goal = ""
        if target:
            t_s, t_mb = target
            ok = sec["median"] <= t_s and (t_mb is None or mb["median"] <= t_mb)
            goal = f"≤ {t_s} s" + (f", ≤ {t_mb:,} MB" if t_mb else "") + (" ✔" if ok else " ✘")
        peak = f"{mb['median']:,.0f}" if mb["median"] else "—"
        lines.append(f"| {label} | {sec['median']:.1f} ({sec['min']:.1f}–{sec['max']:.1f}) | {peak} | {ratio} | {goal} |")
    full = steps.get("full build from cached raw files")
    pandas = steps.get("pandas baseline")
    if full and bare and pandas:
        lines += [
            "",
            f"Whole build vs bare engine: {full['seconds']['median'] / bare['seconds']['median']:.1f}× the time. "
            f"Pandas baseline vs whole build: {pandas['seconds']['median'] / full['seconds']['median']:.1f}× the time, "
            f"{pandas['peak_mb']['median'] / max(full['peak_mb']['median'], 1):.1f}× the peak memory; "
            f"pandas baseline vs bare engine: {pandas['seconds']['median'] / bare['seconds']['median']:.1f}× the time, "
            f"{pandas['peak_mb']['median'] / max(bare['peak_mb']['median'], 1):.1f}× the memory.",
        ]
    atlas, page = steps.get("atlas", {}).get("said", {}), steps.get("atlas commune map in Chromium", {}).get("said", {})
    if atlas and page:
        lines += ["", f"Atlas: {atlas['files']} files, {atlas['bytes'] / 1e6:.1f} MB, commune layer "
                  f"{atlas['commune_layer_bytes'] / 1e6:.2f} MB (target ≤ 6 MB); the commune map of France ready in "
                  f"{page['ready_median_s']:.2f} s in headless Chromium, median of 3 fresh pages (target ≤ 2 s; "
                  f"map drawn in {', '.join(str(round(load['draw_ms'])) for load in page['loads'])} ms)."]  # fmt: skip
    if parts:
        lines += ["", "Bare engine, by indicator (s): " + ", ".join(f"{k} {v:.2f}" for k, v in parts.items())]
    dbt = steps.get("dbt build", {}).get("said", {})
    if dbt.get("slowest_models"):
        lines += ["", f"dbt: {dbt.get('models')} models, {dbt.get('nodes')} nodes; ten slowest models (s): "
                  + ", ".join(f"{m} {s}" for m, s in dbt["slowest_models"])]  # fmt: skip
    for which, check in record["checks"].items():
        lines.append(f"\n{which}: {check['rows']:,} rows compared with the warehouse, {check['mismatches']} mismatches"
                     + (f" (e.g. {'; '.join(check['examples'])})" if check["examples"] else ""))  # fmt: skip
    return "\n".join(lines) + "\n"


def save(record: dict) -> tuple[Path, Path]:
    """benchmarks/results/<date>.json (one record per scale, a new run of a scale replaces it) and <date>.md."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{record['date']}.json"
    records = json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
    records = [r for r in records if r["scale"] != record["scale"]] + [record]
    records.sort(key=lambda r: r["scale"])
    path.write_text(json.dumps(records, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    page = RESULTS / f"{record['date']}.md"
    page.write_text(f"# territoires benchmark, {record['date']}\n\nReproduce: `make bench SCALE=<scale>`.\n\n"
                    + "\n".join(markdown(r) for r in records), encoding="utf-8")  # fmt: skip
    return path, page


def machine() -> str:
    import platform

    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    return f"{os.cpu_count()} cores, {memory:.0f} GB RAM, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def main(argv: list[str] | None = None) -> None:
    from pipelines.cli.demo import serve_directory
    from pipelines.sample.national import scale_of

    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default="national", help="'national' or a share of it, e.g. 0.25")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--work", type=Path, default=None, help="working folder (default benchmarks/work/<scale>)")
    args = parser.parse_args(argv)
    scale = scale_of(args.scale)
    work = (args.work or PROJECT_ROOT / "benchmarks" / "work" / f"scale-{scale:g}").resolve()
    work.mkdir(parents=True, exist_ok=True)
    log = work / "bench.log"
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "GX_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}
    env.pop("TERRITOIRES_MIRROR", None)
    print(f"territoires benchmark: scale {scale:g}, {args.runs} run(s), working in {work} (log {log})")
    mirror, written, generated = national_sample(work, scale, args.seed, env, log)
    size = sum(f.stat().st_size for f in mirror.rglob("*") if f.is_file()) / 1e9
    print(f"  national sample: {size:.2f} GB" + (f", generated in {generated.seconds:.0f} s ({generated.peak_mb:,.0f} MB)" if generated else " (reused)"))
    runs = []
    with serve_directory(mirror) as url:
        for n in range(1, args.runs + 1):
            runs.append(one_run(n, work, mirror, url, written, env, log))
    from pipelines.sample.national.territory import build_national_territory

    record = {
        "date": date.today().isoformat(),
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "scale": scale,
        "runs": args.runs,
        "communes": build_national_territory(scale, *(() if args.seed is None else (args.seed,))).commune_count("2026"),
        "machine": machine(),
        "mirror_gb": size,
        "generation": asdict(generated) if generated else None,
        "steps": summarise(runs),
        "bare_engine_parts": runs[-1]["bare engine"].said.get("parts", {}),
        "checks": check_references(work, mirror, work / "full" / "warehouse.duckdb"),
    }
    json_path, page = save(record)
    print()
    print(markdown(record))
    print(f"results: {json_path} and {page}")


if __name__ == "__main__":
    main()
