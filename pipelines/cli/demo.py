"""`territoires demo`: the full pipeline on the bundled sample, through a local HTTP mirror."""

from __future__ import annotations

import functools
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import duckdb

from pipelines.orchestration.run_path import BuildResult, run_build
from pipelines.warehouse.levels import ZONING_LEVELS
from pipelines.warehouse.publish import SAMPLE_NOTICE
from pipelines.orchestration.resources import SAMPLE_MARKER
from pipelines.sample import write_sample
from pipelines.settings import DataHome, data_home


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
        pass


@contextmanager
def serve_directory(directory) -> Iterator[str]:
    """Serve a folder on 127.0.0.1 (a free port) for the duration; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def demo_home() -> DataHome:
    """<TERRITOIRES_HOME>/demo: the sample never mixes with real data."""
    return DataHome(data_home().root / "demo")


def run_demo(*, fresh: bool = False, verbose: bool = False) -> BuildResult:
    """Write the sample, serve it as a mirror, and build it through the run path."""
    home = demo_home()
    if fresh and home.root.exists():
        shutil.rmtree(home.root)
    home.ensure()
    (home.root / SAMPLE_MARKER).write_text(SAMPLE_NOTICE + "\n", encoding="utf-8")
    mirror_dir = home.root / "sample_files"
    written = write_sample(mirror_dir)
    with serve_directory(mirror_dir) as base_url:
        return run_build(
            home, sources=sorted(written), vintages_by_source=written, mirror=base_url, trigger="demo", verbose=verbose
        )


def summarise_warehouse(home: DataHome) -> str:
    """Where things are and what was built, for the end of the demo."""
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        counts = {
            name: con.execute(f"select count(*) from {name}").fetchone()[0]
            for name in ("geo.commune", "geo.epci", "geo.departement", "geo.region", "geo.commune_passage", "indicators.long")
        }
        geography = con.execute("select geography_vintage from meta.about").fetchone()[0]
        indicators = con.execute(
            "select indicator_id, array_to_string(vintages, ', ') from indicators.catalogue order by 1"
        ).fetchall()
        merged = con.execute("select count(*) from geo.commune_passage where link_type <> 'same_code'").fetchone()[0]
        zonings = [(level, con.execute(f"select count(*) from geo.{level}").fetchone()[0]) for level in ZONING_LEVELS]
    lines = [
        "territoires demo — SAMPLE DATA (a fictitious territory)",
        f"  warehouse   {home.warehouse}",
        f"  exports     {home.exports}",
        f"  atlas       {home.atlas / 'index.html'}   (served: uv run territoires atlas --serve)",
        f"  Dagster UI  TERRITOIRES_HOME={home.root} uv run territoires ui   → http://127.0.0.1:3000",
        "  SQL         uv run territoires query \"select * from indicators.catalogue\"   (reads the demo until a real build exists)",
        "",
        f"  geography {geography}: {counts['geo.commune']} communes, {counts['geo.epci']} EPCI, "
        f"{counts['geo.departement']} départements, {counts['geo.region']} régions",
        f"  commune passage: {counts['geo.commune_passage']} codes, {merged} of them mapped onto another commune",
        "  INSEE levels: " + ", ".join(f"{count} {level}" for level, count in zonings),
        f"  indicators.long: {counts['indicators.long']} rows",
    ]
    lines += [f"    {indicator_id:<26} vintages {vintages}" for indicator_id, vintages in indicators]
    return "\n".join(lines)
