"""The `territoires` command: demo, build, ingest, sources, status, query, ui."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click

from pipelines.settings import DataHome, data_home, quiet_telemetry

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


def _print_build(result, home: DataHome, started: float) -> None:
    for source_id, statuses in sorted(result.source_statuses.items()):
        listed = ", ".join(f"{v} {s}" for v, s in sorted(statuses.items()))
        click.echo(f"  {source_id:<22} {listed}")
    for check in result.failed_checks:
        click.secho(f"  check failed: {check}", fg="yellow")
    for step in result.failed_steps:
        click.secho(f"  step failed: {step}", fg="red")
    elapsed = time.monotonic() - started
    if result.success:
        click.secho(f"build finished in {elapsed:.0f} s; warehouse: {home.warehouse}", fg="green")
    else:
        click.secho(
            f"build failed after {elapsed:.0f} s (Dagster run {result.run_id}); "
            f"the previously published warehouse, if any, is unchanged: {home.warehouse}",
            fg="red",
        )


@main.command()
@click.option("--source", "sources", multiple=True, help="Only this source and what depends on it (repeatable).")
@click.option("--vintage", "vintages", multiple=True, help="Only this vintage of each selected source (repeatable).")
@click.option("--offline", is_flag=True, help="Use cached snapshots only: no download at all.")
@click.option("--mirror", default="", help="Directory or http base laid out as <source>/<vintage>/<file>; overrides TERRITOIRES_MIRROR.")
def build(sources: tuple[str, ...], vintages: tuple[str, ...], offline: bool, mirror: str) -> None:
    """Fetch the sources, load them, run dbt and publish the warehouse.

    Sources that fail or are invalid keep their last good data and are reported; the
    rest builds. The published warehouse is replaced whole or not at all.
    """
    from pipelines.build import run_build
    from pipelines.sources.catalogue import CatalogueError

    home = data_home().ensure()
    started = time.monotonic()
    click.echo(f"building into {home.root} ({'offline' if offline else mirror or os.environ.get('TERRITOIRES_MIRROR') or 'live sources'})")
    try:
        result = run_build(home, sources=sources, vintages=vintages, offline=offline, mirror=mirror)
    except CatalogueError as exc:
        _fail(str(exc))
    _print_build(result, home, started)
    sys.exit(0 if result.success else 1)


@main.command()
@click.option("--keep-going/--fresh", default=True, help="Reuse the demo data home (default) or start from scratch.")
def demo(keep_going: bool) -> None:
    """Build the warehouse from the bundled sample, served over a local HTTP mirror.

    Uses its own data home (<TERRITOIRES_HOME>/demo) so sample data never mixes with real data.
    """
    from pipelines.demo import run_demo

    started = time.monotonic()
    home, result, summary = run_demo(fresh=not keep_going)
    _print_build(result, home, started)
    if not result.success:
        sys.exit(1)
    click.echo("")
    click.echo(summary)


# -------------------------------------------------------------------------- ingest


@main.command()
@click.argument("source")
@click.option("--vintage", required=True, help="Vintage the files belong to (e.g. 2026).")
@click.option(
    "--file", "paths", required=True, multiple=True, type=click.Path(path_type=Path),
    help="A file obtained by hand (repeatable: e.g. the four Etalab JSON files, or the package .tgz).",
)
def ingest(source: str, vintage: str, paths: tuple[Path, ...]) -> None:
    """Add files obtained by hand as snapshots of SOURCE, with the same checks as a download.

    Each file is copied into the raw store under its own name, then the vintage is parsed
    and validated; `territoires build --offline` loads it. An invalid file is kept for
    inspection but never used.
    """
    from pipelines.ingestion import current_snapshots, parse_and_validate
    from pipelines.quality import ValidationFailed
    from pipelines.resources import SAMPLE_MARKER
    from pipelines.sources.catalogue import CatalogueError, get_source
    from pipelines.sources.errors import SourceError
    from pipelines.sources.fetch import Fetcher
    from pipelines.sources.readers import IncompleteVintage, ParseError
    from pipelines.sources.snapshots import RawStore

    home = data_home().ensure()
    try:
        spec = get_source(source)
        spec.vintage(vintage)
    except CatalogueError as exc:
        _fail(str(exc))
    store = RawStore(home.root)
    added = []
    with Fetcher(store, offline=True) as fetcher:
        for path in paths:
            try:
                snapshot = fetcher.ingest_file(source, vintage, path)
            except SourceError as exc:
                _fail(str(exc))
            added.append(snapshot)
            click.echo(f"stored {snapshot.path} (sha256 {snapshot.sha256[:12]}…, {snapshot.bytes:,} bytes)")
    sample = (home.root / SAMPLE_MARKER).exists()
    try:
        frames = parse_and_validate(spec, vintage, current_snapshots(store, source, vintage), sample=sample)
    except IncompleteVintage as exc:
        click.secho(f"stored, not checked yet: {exc}", fg="yellow")
        return
    except (ParseError, ValidationFailed, SourceError) as exc:
        for snapshot in added:
            store.mark(snapshot, "invalid", str(exc))
        kept = ", ".join(str(s.path) for s in added)
        _fail(f"{exc}\nThe file is kept at {kept} for inspection and will not be loaded.")
    for snapshot in {snap.path: snap for _, snap in frames.values()}.values():
        store.mark(snapshot, "valid")
    for entity, (frame, snap) in sorted(frames.items()):
        click.echo(f"  {entity:<14} {frame.height:>8,} rows from {snap.file_name}")
    click.secho(f"{source} {vintage} is valid; run `territoires build --offline` to load it.", fg="green")


# ------------------------------------------------------------------ sources, status


@main.command()
def sources() -> None:
    """List every catalogue source, its vintages and the state of their snapshots."""
    from pipelines.ingestion import current_snapshots
    from pipelines.sources.catalogue import load_catalogue
    from pipelines.sources.snapshots import RawStore

    store = RawStore(data_home().root)
    for source in load_catalogue().values():
        click.secho(f"{source.id}", bold=True, nl=False)
        click.echo(f" — {source.title} ({source.publisher}; {source.licence}; {source.cadence})")
        for vintage in source.vintage_ids:
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


@main.command()
def status() -> None:
    """The published warehouse, the last builds, and what failed or is missing."""
    from pipelines.status import render_status

    click.echo(render_status(data_home()))


# --------------------------------------------------------------------------- query


def _readable_warehouse() -> Path:
    """The published warehouse; before any real build, the demo's (said on stderr)."""
    home = data_home()
    demo = home.root / "demo" / "warehouse.duckdb"
    if not home.warehouse.exists() and demo.exists():
        click.secho(f"(no warehouse at {home.warehouse} yet: reading the demo warehouse {demo}, sample data)", err=True, fg="yellow")
        return demo
    return home.warehouse


@main.command()
@click.argument("sql")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
def query(sql: str, fmt: str) -> None:
    """Run one read-only SQL statement on the published warehouse.

    The warehouse opens read-only with file access switched off: no writes, COPY … TO,
    ATTACH, INSTALL or reading files.
    """
    from pipelines.query import QueryError, render, run_query

    try:
        frame = run_query(_readable_warehouse(), sql)
    except QueryError as exc:
        _fail(str(exc))
    click.echo(render(frame, fmt), nl=fmt == "table")


# ------------------------------------------------------------------------ target
# (the `target` command for programmes goes here)


# ------------------------------------------------------------------------ export
# (the `export` command goes here)


# ------------------------------------------------------------------------------ ui


@main.command()
@click.option("--port", default=3000, show_default=True)
def ui(port: int) -> None:
    """Start the Dagster UI (and daemon) on this data home."""
    from pipelines.dbt_project import ensure_manifest
    from pipelines.instance import prepare_dagster_home

    home = data_home().ensure()
    prepare_dagster_home(home)
    ensure_manifest()
    dagster = Path(sys.executable).with_name("dagster")
    click.echo(f"Dagster UI on http://127.0.0.1:{port} (DAGSTER_HOME={os.environ['DAGSTER_HOME']})")
    os.execv(str(dagster), [str(dagster), "dev", "-m", "pipelines.definitions", "-h", "127.0.0.1", "-p", str(port)])


if __name__ == "__main__":
    main()
