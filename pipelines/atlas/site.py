"""Write the atlas of a published warehouse: the static pages and their data, in one folder.

The atlas is written into a new folder beside the target and renamed into place, so a
browser (or `territoires atlas --serve`) never sees half an atlas; the previous one is
removed once the new one is in place.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipelines.atlas import data
from pipelines.atlas.projection import layout

STATIC = Path(__file__).parent / "static"


class AtlasError(RuntimeError):
    """The atlas cannot be written (no published warehouse, no shapes, extension missing)."""


@dataclass
class AtlasReport:
    path: Path
    build_id: str
    sample_data: bool
    seconds: float
    levels: list[str]
    files: int
    bytes: int
    shape_bytes: dict[str, int] = field(default_factory=dict)
    indicators: int = 0
    programmes: int = 0
    portrait_files: int = 0


def write_atlas(warehouse: Path, out: Path) -> AtlasReport:
    """Write the atlas of `warehouse` to `out` (replaced whole); returns what was written."""
    started = time.monotonic()
    if not Path(warehouse).exists():
        raise AtlasError(f"no published warehouse at {warehouse}; run `territoires build` (or `territoires demo`) first")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{out.name}-partial-", dir=out.parent))
    try:
        con = duckdb.connect(str(warehouse), read_only=True)
        try:
            try:
                con.execute("load spatial")
            except duckdb.Error as exc:
                raise AtlasError(
                    f"DuckDB's spatial extension is not installed ({exc}); run `python -m pipelines.warehouse.extensions`"
                ) from None
            if not _has_table(con, "geo", "shapes"):
                raise AtlasError(f"{warehouse} has no geo.shapes table: it was built before the atlas existed; rebuild it")
            report = _write(con, partial)
        finally:
            con.close()
        shutil.copytree(STATIC, partial, dirs_exist_ok=True)
        _write_manifest(partial, report)
        _swap(partial, out)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    files = [p for p in out.rglob("*") if p.is_file()]
    report.path = out
    report.files = len(files)
    report.bytes = sum(p.stat().st_size for p in files)
    report.seconds = time.monotonic() - started
    return report


def _write(con: duckdb.DuckDBPyConnection, folder: Path) -> AtlasReport:
    levels, with_shapes = data.area_levels(con), data.shape_levels(con)
    frames = layout(con)
    data.prepare(con, levels)
    meta = data.write_meta(con, folder, levels, with_shapes)
    shape_bytes = data.write_shapes(con, folder, with_shapes, frames)
    data.write_names(con, folder, levels)
    indicators = data.write_values(con, folder)
    programmes = data.write_programmes(con, folder)
    portraits = data.write_portraits(con, folder, levels)
    return AtlasReport(
        path=folder, build_id=meta["build_id"], sample_data=meta["sample_data"], seconds=0.0, levels=levels,
        files=0, bytes=0, shape_bytes=shape_bytes, indicators=indicators, programmes=programmes, portrait_files=portraits,
    )  # fmt: skip


MANIFEST = "atlas.json"


def _write_manifest(folder: Path, report: AtlasReport) -> None:
    files = [p for p in folder.rglob("*") if p.is_file()]
    manifest = {
        "build_id": report.build_id, "sample_data": report.sample_data, "levels": report.levels,
        "files": len(files) + 1, "bytes": sum(p.stat().st_size for p in files), "shape_bytes": report.shape_bytes,
    }  # fmt: skip
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def atlas_build_id(folder: Path) -> str | None:
    """The build id of the atlas in folder (None when there is none)."""
    try:
        return json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))["build_id"]
    except (OSError, ValueError, KeyError):
        return None


def warehouse_build_id(warehouse: Path) -> str | None:
    """The build id of a published warehouse (meta.about), None when it cannot be read."""
    try:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            return con.execute("select build_id from meta.about").fetchone()[0]
    except (duckdb.Error, TypeError):
        return None


def _swap(partial: Path, out: Path) -> None:
    """Put the new atlas in place of the old one (renames only)."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}-old-{time.time_ns()}")
        out.rename(old)
    partial.rename(out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _has_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?", [schema, table]
        ).fetchone()[0]
    )
