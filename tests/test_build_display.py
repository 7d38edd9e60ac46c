"""What `territoires build` prints from the run path's progress reports."""

from __future__ import annotations

import io

from pipelines.cli.progress import BuildDisplay, short_reason


def source(name, vintage, status, detail="", fetched=None, fetch_failed=False, nbytes=0):
    return ("source", {
        "source": name, "vintage": vintage, "status": status, "detail": detail or status,
        "fetched": fetched or {}, "bytes": nbytes, "seconds": 0.2, "fetch_failed": fetch_failed,
    })  # fmt: skip


def shown(*events) -> list[str]:
    out = io.StringIO()
    display = BuildDisplay(out, live=False)
    for kind, fields in events:
        display(kind, fields)
    display.flush()
    return [line.rstrip() for line in out.getvalue().splitlines()]


def test_one_line_per_source_whatever_the_number_of_runs_and_failures_grouped():
    missing = "missing — fetch failed: insee_cog 2023, file v.csv, from /m/insee_cog/2023/v.csv: the mirror has no file at /m/x"
    lines = shown(
        source("insee_bpe", "2021", "loaded", fetched={"a.zip": "downloaded"}, nbytes=2048),
        ("run", {"description": "ingest insee_bpe 2024"}),  # a second run of the same source
        source("insee_bpe", "2024", "unchanged", fetched={"b.parquet": "not_modified"}),
        source("insee_cog", "2023", "missing", missing, {"v.csv": "failed"}, True),
        source("insee_cog", "2024", "missing", missing.replace("2023", "2024"), {"v.csv": "failed"}, True),
        ("transform", {"status": "started", "total": 8}),
        *[("dbt", {"done": n, "total": 8}) for n in range(1, 9)],
        ("transform", {"status": "done", "done": 8, "total": 8}),
        ("publish", {"status": "done", "build_id": "B1", "path": "/h/warehouse.duckdb", "bytes": 3 * 1024**2}),
    )
    assert lines[0].split() == ["insee_bpe", "2021", "loaded,", "2024", "unchanged", "fetched", "1", "new,", "1", "same", "(2.0", "kB)", "0.4", "s"]
    assert lines[1].startswith("  insee_cog") and "2023 missing, 2024 missing" in lines[1]
    assert lines[2] == "      2023, 2024 missing: not in the mirror"
    assert [line for line in lines if line.startswith("  dbt:")] == [
        "  dbt: building 8 models, seeds and their tests", "  dbt: 2/8", "  dbt: 4/8", "  dbt: 6/8", "  dbt: 8/8",
        "  dbt: 8/8 built, tests passed",
    ]
    assert lines[-1] == "  published build B1: /h/warehouse.duckdb (3.0 MB)"


def test_a_failure_says_which_file_and_what_happened_briefly():
    detail = ("invalid — etalab_decoupage 2026, file communes.json, from http://m/communes.json: "
              "column zone is missing (columns found: code, nom)")  # fmt: skip
    assert short_reason(detail) == "communes.json: column zone is missing (columns found: code, nom)"
    assert short_reason("missing — fetch failed: x 2024, file a.csv, from http://u: the server answered HTTP 404 Not Found") == (
        "not found upstream (HTTP 404/410)"
    )
    assert len(short_reason("invalid — " + "x" * 500)) == 110
