"""The `territoires` command: demo, build, sample, ingest, sources, status, query, target, export, atlas, map, docs, ui."""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path

import click

from pipelines.settings import DataHome, data_home, quiet_telemetry
from pipelines.warehouse.levels import LEVELS as EXPORT_LEVELS

quiet_telemetry()


def _fail(message: str) -> None:
    click.secho(f"error: {message}", fg="red", err=True)
    sys.exit(1)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
def main() -> None:
    """territoires — indicators for every French commune, EPCI, département, région and France.

    Data lives under TERRITOIRES_HOME (default ./data): raw snapshots, the build database,
    the published warehouse.duckdb, exports and Dagster's storage.
    """


# --------------------------------------------------------------------------- build


DISK_TROUBLE = ("No space left on device", "Disk quota exceeded", "database or disk is full", "disk I/O error")


def _disk_trouble(exc: BaseException) -> bool:
    """Whether an error comes from a full or failing disk (OSError, or SQLite's and DuckDB's words for it)."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EIO):
        return True
    return any(words in str(exc) for words in DISK_TROUBLE)


def _run_and_report(run: Callable[[], object], home: DataHome, verbose: bool):
    """Run a build with its progress shown; prints the summary; returns the BuildResult."""
    from pipelines.cli.progress import BuildDisplay, print_summary
    from pipelines.orchestration import progress
    from pipelines.warehouse.disk import NotEnoughSpace
    from pipelines.warehouse.lock import DataHomeBusy

    display = BuildDisplay()
    try:
        with progress.listening(display):
            result = run()
    except DataHomeBusy as exc:
        click.secho(f"error: {exc}", fg="red", err=True)
        sys.exit(2)
    except NotEnoughSpace as exc:
        _fail(str(exc))
    except Exception as exc:
        if not _disk_trouble(exc):
            raise
        display.flush()
        detail = " ".join(str(exc).split())[:300]
        _fail(
            f"the build stopped: the data home's disk could not be written ({detail}); the published warehouse "
            f"and the stored snapshots are unchanged. Free space under {home.root} and build again."
        )
    display.flush()
    print_summary(result, home.warehouse)
    return result


@main.command()
@click.option("--source", "sources", multiple=True, help="Only this source (repeatable); the transformation still covers everything.")
@click.option("--vintage", "vintages", multiple=True, help="Only this vintage of each selected source (repeatable).")
@click.option("--offline", is_flag=True, help="Use stored snapshots only: no download, no lookup upstream.")
@click.option("--mirror", default="", help="Directory or http base laid out as <source>/<vintage>/<file>; overrides TERRITOIRES_MIRROR.")
@click.option("--force", is_flag=True, help="Parse, transform and publish even when nothing changed.")
@click.option("--no-wait", is_flag=True, help="If another build holds the data home, exit at once (status 2) instead of waiting.")
@click.option("--schedule", "schedule_name", metavar="NAME", help="Run what this schedule's next tick would (e.g. refresh_yearly_sources).")
@click.option("--sensor", "sensor_name", metavar="NAME", help="Run what this sensor would request now (upstream_changes).")
@click.option("--verbose", is_flag=True, help="Show Dagster's own log as it runs (it always goes to the log file).")
def build(
    sources: tuple[str, ...], vintages: tuple[str, ...], offline: bool, mirror: str, force: bool, no_wait: bool,
    schedule_name: str | None, sensor_name: str | None, verbose: bool,
) -> None:  # fmt: skip
    """Fetch the sources, load them, run dbt and publish the warehouse, as Dagster runs.

    One ingestion run per source, then the transformation run; each is recorded in the
    Dagster instance of the data home (`territoires status`, the UI's run list). Sources
    that fail or are invalid keep their last good data and are reported; the rest builds.
    When nothing changed since the published build, dbt, publish and exports are skipped.
    The published warehouse is replaced whole or not at all. Only one build runs on a data
    home at a time: a second one waits (or, with --no-wait, exits).
    """
    from pipelines.orchestration.run_path import run_build, run_tick
    from pipelines.sources.catalogue import CatalogueError, get_source

    try:  # a wrong source id or vintage is said before anything is written in the data home
        for spec in [get_source(source_id) for source_id in dict.fromkeys(sources)]:
            for vintage in vintages:
                spec.vintage(vintage)
    except CatalogueError as exc:
        _fail(str(exc))
    home = data_home().ensure()
    if schedule_name and sensor_name:
        _fail("give --schedule or --sensor, not both")
    where = "offline" if offline else mirror or os.environ.get("TERRITOIRES_MIRROR") or "live sources"
    click.echo(f"building into {home.root} ({where})")
    try:
        if schedule_name or sensor_name:
            if sources or vintages or offline or force:
                _fail("--schedule and --sensor decide the sources and vintages themselves: drop --source, --vintage, --offline and --force")
            run = lambda: run_tick(home, schedule=schedule_name, sensor=sensor_name, mirror=mirror, wait=not no_wait, verbose=verbose)  # noqa: E731
        else:
            run = lambda: run_build(  # noqa: E731
                home, sources=sources, vintages=vintages, offline=offline, mirror=mirror, force=force,
                wait=not no_wait, verbose=verbose,
            )  # fmt: skip
        result = _run_and_report(run, home, verbose)
    except (CatalogueError, LookupError) as exc:
        _fail(str(exc))
    sys.exit(0 if result.success else 1)


@main.command()
@click.option("--keep-going/--fresh", default=True, help="Reuse the demo data home (default) or start from scratch.")
@click.option("--verbose", is_flag=True, help="Show Dagster's own log as it runs.")
def demo(keep_going: bool, verbose: bool) -> None:
    """Build the warehouse from the bundled sample, served over a local HTTP mirror.

    Uses its own data home (<TERRITOIRES_HOME>/demo) so sample data never mixes with real
    data; it is the same build as `territoires build`: Dagster runs, lock, no-op, publish.
    """
    from pipelines.cli.demo import demo_home, run_demo

    home = demo_home()
    click.echo(f"territoires demo: the bundled sample, served over a local HTTP mirror, built into {home.root}")
    result = _run_and_report(lambda: run_demo(fresh=not keep_going, verbose=verbose), home, verbose)
    if not result.success:
        sys.exit(1)
    from pipelines.cli.demo import summarise_warehouse

    click.echo("")
    click.echo(summarise_warehouse(home))


def _scale_option(ctx: click.Context, param: click.Parameter, value: str) -> float:
    from pipelines.sample.national import scale_of

    try:
        return scale_of(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@main.command()
@click.option("--scale", default="national", show_default=True, callback=_scale_option, help="'national' (about 35,000 communes) or a share of it in (0, 1], e.g. 0.25.")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Folder to write the mirror tree into (<source>/<vintage>/<file name>).")
@click.option("--seed", default=None, type=click.IntRange(min=0, max=2**32 - 1), help="Seed of the draws (the same seed and scale give the same files).")
@click.option("--source", "sources", multiple=True, metavar="ID", help="Only this source (repeatable).")
def sample(scale: float, out: Path, seed: int | None, sources: tuple[str, ...]) -> None:
    """Write a fictitious France at national size in the official layouts, as a mirror.

    Every source of the bundled sample, with the same vintages and file names, for a
    generated territory of about 35,000 communes (two geography vintages, a few hundred
    communes nouvelles), about 2.7 million equipment points, a Sirene stock of about
    40 million establishments, GTFS feeds with over 5 million stop times. Build it with
    `TERRITOIRES_MIRROR=OUT territoires build` (the files are fictitious: mark such a data
    home as sample data). Deterministic: the same scale and seed give the same bytes.
    """
    import time

    from pipelines.sample.national import DEFAULT_SEED, write_national

    started = time.monotonic()
    click.echo(f"territoires sample: scale {scale:g} into {out}")

    def report(source: str, vintages: list[str], seconds: float) -> None:
        folder = out / source
        size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) if folder.exists() else 0
        click.echo(f"  {source:<22} {', '.join(vintages):<20} {size / 1e6:>10,.1f} MB {seconds:>7.1f} s")

    try:
        written = write_national(out, scale, DEFAULT_SEED if seed is None else seed, sources=list(sources) or None, on_source=report)
    except (ValueError, OSError) as exc:
        _fail(str(exc))
    total = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    click.secho(
        f"wrote {len(written)} sources ({total / 1e9:,.2f} GB) in {time.monotonic() - started:.0f} s; "
        f"build it with: TERRITOIRES_MIRROR={out} territoires build",
        fg="green",
    )


# -------------------------------------------------------------------------- ingest


@main.command()
@click.argument("source")
@click.option("--vintage", required=True, help="Vintage the files belong to (e.g. 2026, or 2026-W48 for GTFS, 2026-11 for SIRENE).")
@click.option(
    "--file", "paths", required=True, multiple=True, type=click.Path(path_type=Path),
    help="A file obtained by hand (repeatable: e.g. the four Etalab JSON files, or the package .tgz).",
)
@click.option("--add", is_flag=True, help="Add the files to the vintage's current files instead of replacing them (GTFS feeds one by one).")
def ingest(source: str, vintage: str, paths: tuple[Path, ...], add: bool) -> None:
    """Add files obtained by hand as the files of SOURCE's VINTAGE, with the same checks as a download.

    The files given become the vintage's files (when they all have names the catalogue
    lists for it, its other files stay; --add keeps every current file). Each is copied
    into the raw store under its own name, then the vintage is parsed and validated;
    `territoires build --offline` loads it. An invalid file is kept for inspection but
    never used. A weekly or monthly source accepts any well-formed vintage.
    """
    from pipelines.orchestration.instance import prepare_dagster_home
    from pipelines.orchestration.partitions import add_vintages
    from pipelines.orchestration.resources import SAMPLE_MARKER
    from pipelines.quality import ValidationFailed
    from pipelines.sources.catalogue import CatalogueError, get_source
    from pipelines.sources.errors import SourceError
    from pipelines.sources.readers import ParseError
    from pipelines.sources.snapshots import RawStore
    from pipelines.warehouse.ingestion import ingest_files
    from pipelines.warehouse.lock import data_home_lock

    try:  # before the data home is touched
        spec = get_source(source)
        spec.vintage(vintage)
    except CatalogueError as exc:
        _fail(str(exc))
    home = data_home().ensure()
    store = RawStore(home.root)

    def waiting(holder) -> None:
        click.secho(f"waiting for {holder.describe() if holder else 'another process'} to finish", fg="yellow", err=True)

    with data_home_lock(home.lock_file, purpose=f"territoires ingest {source} {vintage}", on_wait=waiting):
        try:
            result = ingest_files(store, spec, vintage, paths, add=add, sample=(home.root / SAMPLE_MARKER).exists())
        except SourceError as exc:
            _fail(str(exc))
        except (ParseError, ValidationFailed) as exc:
            kept = ", ".join(str(s.path) for s in store.snapshots(source, vintage) if s.file_name in {p.name for p in paths})
            _fail(f"{exc}\nThe file is kept at {kept} for inspection and will not be loaded.")
    if spec.is_dynamic:
        prepare_dagster_home(home)
        import dagster as dg

        with dg.DagsterInstance.get() as instance:
            add_vintages(instance, spec, [vintage])
    for snapshot in result.snapshots:
        click.echo(f"stored {snapshot.path} (sha256 {snapshot.sha256[:12]}…, {snapshot.bytes:,} bytes)")
    click.echo(f"{source} {vintage} now reads: {', '.join(result.files)}")
    if result.pending:
        click.secho(f"stored, not checked yet: {result.pending}", fg="yellow")
        return
    for entity, (rows, file_name) in result.frames.items():
        click.echo(f"  {entity:<14} {rows:>8,} rows from {file_name}")
    click.secho(f"{source} {vintage} is valid; run `territoires build --offline` to load it.", fg="green")


# ------------------------------------------------------------------ sources, status


@main.command()
@click.option("--check", is_flag=True, help="Check the catalogue's URLs instead (see below); exit status 1 if one is broken.")
@click.option("--source", "source_ids", multiple=True, metavar="ID", help="Only this source (repeatable).")
@click.option("--timeout", default=20.0, show_default=True, type=click.FloatRange(min=0, min_open=True), help="With --check: seconds to wait for each answer.")
@click.option("--json", "as_json", is_flag=True, help="With --check: print the results as JSON.")
def sources(check: bool, source_ids: tuple[str, ...], timeout: float, as_json: bool) -> None:
    """List every catalogue source, its vintages and the snapshots each vintage serves now.

    With --check, check every URL of the catalogue without downloading anything: each
    listed vintage's files, and for weekly or monthly sources the discovery URL and the
    current files (URL patterns with {vintage}, such as SIRENE's past months, are not
    checked). One HEAD request per URL, following redirects (a GET of the first byte when
    HEAD is refused), 8 at a time. A URL is broken when it cannot be reached, answers an
    HTTP error, or serves a content type that does not fit the file's format, an HTML page
    above all (a moved file often redirects to one). Run it before a national build.
    """
    from pipelines.sources.catalogue import CatalogueError, get_source, load_catalogue

    if as_json and not check:
        _fail("--json goes with --check")
    try:
        chosen = [get_source(source_id) for source_id in dict.fromkeys(source_ids)] or list(load_catalogue().values())
    except CatalogueError as exc:
        _fail(str(exc))
    if check:
        _check_sources(chosen, timeout, as_json)
        return

    from pipelines.sources.snapshots import RawStore
    from pipelines.warehouse.ingestion import current_snapshots, known_vintages

    store = RawStore(data_home().root)
    for source in chosen:
        click.secho(f"{source.id}", bold=True, nl=False)
        kind = source.cadence + ("; vintages found upstream" if source.is_dynamic else "")
        click.echo(f" — {source.title} ({source.publisher}; {source.licence}; {kind})")
        vintages = known_vintages(store, source)
        if not vintages:
            click.echo("    no vintage yet" if source.is_dynamic else "    no vintage in the catalogue")
        for vintage in vintages:
            snaps = current_snapshots(store, source.id, vintage)
            if not snaps:
                click.echo(f"    {vintage}  no snapshot")
                continue
            for snap in snaps:
                state = store.status(snap)
                click.echo(
                    f"    {vintage}  {snap.file_name:<40} {state:<9} {snap.sha256[:12]}  "
                    f"{snap.bytes:>12,} B  {snap.origin:<6} {snap.fetched_at[:19]}"
                )


def _check_sources(chosen: list, timeout: float, as_json: bool) -> None:
    """`territoires sources --check`: one line per catalogue URL, a summary, exit status 1 if one is broken."""
    import json

    from pipelines.sources import url_check

    targets = url_check.catalogue_targets(chosen)
    colours = {"ok": "green", "broken": "red", "no_url": "yellow"}
    if not as_json:
        requests = len({t.url for t in targets if t.url})
        click.echo(f"checking {len(targets)} catalogue files ({requests} URLs, {timeout:g} s timeout)")
    results = []
    for result in url_check.check(targets, timeout=timeout):
        results.append(result)
        if not as_json:
            click.secho(url_check.render_line(result), fg=colours[result.verdict])
    tally = url_check.counts(results)
    if as_json:
        click.echo(json.dumps({"results": [r.as_dict() for r in results], "summary": tally}, indent=2, ensure_ascii=False))
    else:
        click.secho(url_check.summary_line(tally), bold=True, fg="red" if tally["broken"] else "green")
    sys.exit(1 if tally["broken"] else 0)


@main.command()
@click.option("--runs", default=10, show_default=True, type=click.IntRange(min=0), help="How many recent Dagster runs to list.")
def status(runs: int) -> None:
    """The published warehouse, the last runs whatever started them, and what failed or is missing."""
    from pipelines.cli.status import render_status

    click.echo(render_status(data_home(), runs=runs))


# --------------------------------------------------------------------------- query


def _readable_warehouse() -> Path:
    """The published warehouse; before any real build, the demo's (said on stderr)."""
    home = data_home()
    demo = home.root / "demo" / "warehouse.duckdb"
    if not home.warehouse.exists() and demo.exists():
        click.secho(f"(no warehouse at {home.warehouse} yet: reading the demo warehouse {demo}, sample data)", err=True, fg="yellow")
        return demo
    return home.warehouse


def _memory_limit_option(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """--memory-limit as DuckDB reads it (500MB, 2GB, 1.5GB); anything else is a usage error."""
    from pipelines.warehouse.query import parse_memory_limit

    try:
        return parse_memory_limit(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _seconds_option(ctx: click.Context, param: click.Parameter, value: float) -> float:
    """--timeout: FloatRange lets NaN through; refuse it."""
    import math

    if math.isnan(value):
        raise click.BadParameter("give a number of seconds, not nan")
    return value


@main.command()
@click.argument("sql")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.option(
    "--timeout", default=60.0, show_default=True, callback=_seconds_option,
    type=click.FloatRange(min=0, min_open=True, max=86_400),  # query.MAX_TIMEOUT: a day
    help="Stop the query after this many seconds.",
)  # fmt: skip
@click.option(
    "--memory-limit", default="2GB", show_default=True, callback=_memory_limit_option, metavar="SIZE",
    help="Most memory the query may use (500MB, 2GB, 1.5GB); nothing spills to disk.",
)  # fmt: skip
def query(sql: str, fmt: str, timeout: float, memory_limit: str) -> None:
    """Run one read-only SQL statement on the published warehouse.

    One statement that reads: SELECT or WITH … SELECT, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN,
    and the pragmas that describe (table_info, version…). The warehouse opens read-only
    with file access switched off; writes, COPY, ATTACH, EXPORT/IMPORT, INSTALL/LOAD,
    SET/RESET, CALL, several statements and functions that read files (read_csv, glob…)
    are refused with the reason. SQL that starts with a `--` comment goes after a
    lone `--`: territoires query -- "-- note …".
    """
    from pipelines.warehouse.query import QueryError, render, run_query

    try:
        frame = run_query(_readable_warehouse(), sql, timeout=timeout, memory_limit=memory_limit)
    except QueryError as exc:
        _fail(str(exc))
    click.echo(render(frame, fmt), nl=fmt == "table")


# ------------------------------------------------------------------------ target
# (the `target` command for programmes goes here)


@main.command()
@click.argument("programme", required=False)
@click.option("--list", "show_list", is_flag=True, help="List the programmes, their rule file version and the build they were computed on.")
@click.option("--departement", help="Only units of this département (e.g. 71, 2A, 974).")
@click.option("--region", help="Only units of this région (e.g. 27).")
@click.option("--top", default=50, show_default=True, type=click.IntRange(min=0, max=1_000_000), help="Keep the first N units (0: all).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.option("--explain", "code", metavar="CODE", help="Explain one unit (INSEE code, FINESS number or QPV code): each criterion's value, vintage, threshold and result, a hospital's catchment, and the raw snapshots behind them.")
@click.option("--changes", is_flag=True, help="What changed in the list since the previous published build (entered, left, tier changed, moved).")
def target(
    programme: str | None, show_list: bool, departement: str | None, region: str | None, top: int, fmt: str,
    code: str | None, changes: bool,
) -> None:  # fmt: skip
    """The ranked, explained list of a PROGRAMME's units (communes, hospitals or quartiers), from the published warehouse.

    Eligible units come in rank order (tier, then priority score); --departement and
    --region keep one area. Each programme's rules, and the unit it ranks, are in
    pipelines/programmes/rules/<programme>.yml.
    """
    from pipelines.programmes.lineage import UnitNotFound, explain, render_explanation
    from pipelines.programmes.rules import ProgrammeRuleError, rule_files
    from pipelines.programmes.targets import (
        ProgrammeNotBuilt, about_build, flat, list_columns, programme_list, read_changes, read_targets, render_table,
    )  # fmt: skip
    from pipelines.warehouse.query import QueryError, open_readonly, render

    def show(frame) -> None:
        text = render_table(frame) if fmt == "table" else render(flat(frame) if fmt == "csv" else frame, fmt)
        click.echo(text, nl=fmt != "csv")

    if not programme and not show_list:
        _fail(f"name a programme ({', '.join(rule_files())}) or use --list")
    if code is not None and fmt == "csv":
        _fail("--explain prints a table or JSON: use --format table or --format json")
    try:
        with open_readonly(_readable_warehouse()) as con:
            about = about_build(con)
            if about.get("sample_data") and fmt == "table":
                click.secho("(sample data: a fictitious territory, not real communes)", err=True, fg="yellow")
            if show_list:
                listing = programme_list(con)
                show(listing.drop("users") if fmt == "table" else listing)
                return
            if code is not None:  # `--explain ""` is an unknown unit, not "no --explain"
                click.echo(render_explanation(explain(con, programme, code), fmt))
                return
            if changes:
                frame = read_changes(con, programme, departement=departement, region=region)
                if fmt == "table":
                    since = f" {frame['previous_build_id'][0]}" if frame.height else ""
                    click.echo(f"{programme}: {frame.height} change(s) since the previous published build{since}")
                    frame = frame.select(
                        "change", "alert", "code", "name", "departement_code", "previous_tier", "tier",
                        "previous_rank", "rank", "rank_change", "reason_summary",
                    )  # fmt: skip
                show(frame)
                return
            frame = read_targets(con, programme, departement=departement, region=region)
            shown = frame.head(top) if top else frame
            if fmt == "table":
                area = "".join(f", {name} {code}" for name, code in (("département", departement), ("région", region)) if code)
                version = frame["rule_version"][0] if frame.height else "-"
                unit = frame["unit"][0] if frame.height else "unit"
                click.echo(
                    f"{programme}{area}: {frame.height} eligible {unit}(s), showing {shown.height}; "
                    f"rule version {version}, build {about.get('build_id')} ({str(about.get('built_at', ''))[:19]})"
                )
                shown = shown.select(list_columns(shown))
            show(shown)
    except (QueryError, ProgrammeRuleError, ProgrammeNotBuilt, UnitNotFound) as exc:
        _fail(str(exc))


# ------------------------------------------------------------------------ export
# (the `export` command goes here)


@main.command()
@click.option("--level", "levels", multiple=True, type=click.Choice(EXPORT_LEVELS), help="Only this level (repeatable).")
@click.option("--indicator", "indicators", multiple=True, help="Only this indicator id (repeatable, or comma-separated).")
@click.option("--programme", "programmes", multiple=True, help="This programme's tables (repeatable, or comma-separated).")
@click.option("--format", "formats", multiple=True, type=click.Choice(["parquet", "csv", "geojson", "gpkg", "xlsx"]), help="File format (repeatable)  [default: parquet, csv, geojson, gpkg]; geojson: communes.geojson (points with indicators) and shapes/<level>.geojson (polygons), gpkg: shapes.gpkg (every level's polygons)")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Exports folder  [default: <data home>/exports]")
@click.option("--csv-separator", type=click.Choice([",", ";"]), default=",", show_default=True, help="CSV field separator.")
@click.option("--csv-bom", is_flag=True, help="Start CSV files with a UTF-8 byte order mark (for Excel).")
@click.option("--csv-decimal-comma", is_flag=True, help="Write decimals as 3,14 in CSV (French Excel; needs --csv-separator ';').")
def export(
    levels: tuple[str, ...], indicators: tuple[str, ...], programmes: tuple[str, ...], formats: tuple[str, ...],
    out: Path | None, csv_separator: str, csv_bom: bool, csv_decimal_comma: bool,
) -> None:  # fmt: skip
    """Export the published warehouse for dashboards: files plus manifest.json in OUT/<build id>/.

    Without a filter every table is exported (indicators, catalogue, geography, programmes)
    and OUT/latest is switched to the new export once it is complete. A filtered export
    goes to OUT/<build id>-partial and leaves `latest` alone. Text cells that a
    spreadsheet would run as a formula (=, +, -, @) get a leading quote in CSV files.
    """
    from pipelines.warehouse.exports import DEFAULT_FORMATS, CsvStyle, ExportError, ExportSelection, export_warehouse

    def split(values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(v.strip() for value in values for v in value.split(",") if v.strip())

    from pipelines.warehouse.lock import data_home_lock

    warehouse = _readable_warehouse()
    target = out or warehouse.parent / "exports"
    home = DataHome(warehouse.parent)
    # Builds write and prune <home>/exports under the data-home lock: take it to write there too.
    lock = data_home_lock(home.lock_file, purpose="territoires export") if target.resolve() == home.exports.resolve() else nullcontext()
    try:
        selection = ExportSelection(
            levels=levels, indicators=split(indicators), programmes=split(programmes),
            formats=tuple(dict.fromkeys(formats)) or DEFAULT_FORMATS,
            csv=CsvStyle(separator=csv_separator, bom=csv_bom, decimal_comma=csv_decimal_comma),
        )  # fmt: skip
        with lock:
            report = export_warehouse(warehouse, target, selection)
    except ExportError as exc:
        _fail(str(exc))
    for entry in report.manifest["files"]:
        click.echo(f"  {entry['path']:<40} {entry['rows']:>10,} rows  {entry['bytes']:>12,} B")
    for entry in report.manifest["skipped"]:
        click.secho(f"  skipped {entry['table']} as {entry['format']}: {entry['reason']}", fg="yellow")
    if report.manifest["sample_data"]:
        click.secho(f"  {report.manifest['notice']}", fg="yellow")
    where = f"; {report.path.parent / 'latest'} points at it" if report.latest else " (partial: `latest` unchanged)"
    click.secho(f"exported build {report.build_id} to {report.path}{where}", fg="green")


# ---------------------------------------------------------------------------- docs


@main.command()
@click.option("--port", default=8080, show_default=True)
@click.option("--no-serve", is_flag=True, help="Only print where the page is.")
def docs(port: int, no_serve: bool) -> None:
    """Serve the dbt docs of the published build (one static page, works offline)."""
    import functools
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    home = data_home()
    page = home.docs / "index.html"
    if not page.exists() and (home.root / "demo" / "docs" / "index.html").exists():
        page = home.root / "demo" / "docs" / "index.html"
    if not page.exists():
        _fail(f"no docs at {page}: they are written by each build (`territoires demo` or `territoires build`)")
    click.echo(f"dbt docs: {page}")
    if no_serve:
        return
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(page.parent))
    with ThreadingHTTPServer(("127.0.0.1", port), handler) as server:
        click.echo(f"serving on http://127.0.0.1:{port}/index.html (Ctrl-C to stop)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass


# --------------------------------------------------------------------------- atlas


@main.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Write the atlas to this folder (default: <data home>/atlas, which each build refreshes).")
@click.option("--serve", is_flag=True, help="Serve the atlas on 127.0.0.1 (written first when missing or older than the warehouse).")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535), help="With --serve: the port (0: any free port).")
def atlas(out: Path | None, serve: bool, port: int) -> None:
    """Write the atlas of the published warehouse: maps of every indicator and programme and a
    portrait of every territory, a static site that works offline (open index.html, or --serve).
    """
    from pipelines.atlas.serve import atlas_server
    from pipelines.atlas.site import AtlasError, atlas_build_id, warehouse_build_id, write_atlas
    from pipelines.warehouse.lock import data_home_lock

    warehouse = _readable_warehouse()
    home = DataHome(warehouse.parent)
    target = out or home.atlas
    current = serve and out is None and atlas_build_id(target) is not None and atlas_build_id(target) == warehouse_build_id(warehouse)
    if not current:
        # builds write <home>/atlas under the data-home lock: take it to write there too
        lock = data_home_lock(home.lock_file, purpose="territoires atlas") if target.resolve() == home.atlas.resolve() else nullcontext()
        try:
            with lock:
                report = write_atlas(warehouse, target)
        except AtlasError as exc:
            _fail(str(exc))
        click.echo(f"  {report.files} files, {report.bytes / 1e6:.1f} MB ({', '.join(report.levels)}), {report.seconds:.1f} s")
        if report.sample_data:
            click.secho("  sample data: every page carries the sample-data banner", fg="yellow")
        click.secho(f"atlas of build {report.build_id}: {target / 'index.html'}", fg="green")
    if not serve:
        return
    try:
        server = atlas_server(target, port)
    except OSError as exc:
        _fail(f"cannot serve on 127.0.0.1:{port}: {exc.strerror or exc}")
    with server:
        click.echo(f"serving the atlas on http://127.0.0.1:{server.server_address[1]}/index.html (Ctrl-C to stop)", err=False)
        sys.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass


@main.command(name="map")
@click.argument("indicator")
@click.option("--level", default="commune", show_default=True, help="Level of the areas drawn (commune, epci, departement, region, canton, bassin_vie…).")
@click.option("--region", help="Only this région (e.g. 27).")
@click.option("--departement", help="Only this département (e.g. 71, 2A, 974).")
@click.option("--vintage", help="The indicator's vintage (default: its latest at that level).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="The image to write, .png or .svg  [default: <indicator>-<level>.png]")
def map_command(indicator: str, level: str, region: str | None, departement: str | None, vintage: str | None, out: Path | None) -> None:
    """Draw INDICATOR as a print-quality choropleth (PNG or SVG) from the published warehouse:
    quantile classes, legend with the unit, source line with the vintages, DROM in insets."""
    from pipelines.atlas.image import MapError, MapRequest, draw_map

    warehouse = _readable_warehouse()
    target = out or Path(f"{indicator}-{level}.png")
    try:
        report = draw_map(warehouse, MapRequest(indicator, level, vintage, region, departement), target)
    except MapError as exc:
        _fail(str(exc))
    click.echo(f"  {report.title}: {report.areas} areas, {report.no_data} without a value")
    click.echo(f"  legend: {' | '.join(report.legend)}")
    click.secho(f"map written: {report.path}", fg="green")


# ------------------------------------------------------------------------------ ui


@main.command()
@click.option("--port", default=3000, show_default=True)
def ui(port: int) -> None:
    """Start the Dagster UI (and daemon) on this data home."""
    from pipelines.orchestration.dbt_project import ensure_manifest
    from pipelines.orchestration.instance import prepare_dagster_home

    home = data_home().ensure()
    prepare_dagster_home(home)
    ensure_manifest()
    dagster = Path(sys.executable).with_name("dagster")
    click.echo(f"Dagster UI on http://127.0.0.1:{port} (DAGSTER_HOME={os.environ['DAGSTER_HOME']})")
    os.execv(str(dagster), [str(dagster), "dev", "-m", "pipelines.orchestration.definitions", "-h", "127.0.0.1", "-p", str(port)])


if __name__ == "__main__":
    main()
