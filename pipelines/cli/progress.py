"""What `territoires build` prints while it runs: one line per source, dbt's progress,
publish and exports, then a summary that fits on a screen."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click

from pipelines.orchestration.run_path import BuildResult

FETCH_WORDS = {"downloaded": "new", "not_modified": "same", "unchanged": "same", "cached": "cached", "failed": "FAILED"}


def _size(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def short_reason(detail: str, width: int = 110) -> str:
    """What went wrong with a vintage, in a few words (the log file has the whole message)."""
    text = detail.split(" — ", 1)[-1]
    if "the mirror has no file" in text:
        return "not in the mirror"
    if "HTTP 404" in text or "HTTP 410" in text:
        return "gone upstream (HTTP 404/410): its last snapshot is kept" if "serving the snapshot" in text else "not found upstream (HTTP 404/410)"
    # "<source> <vintage>, file F, from URL: what happened" → what happened, with the file
    for prefix in ("fetch failed: ",):
        text = text.removeprefix(prefix)
    if ", from " in text and ": " in text.split(", from ", 1)[1]:
        head, rest = text.split(", from ", 1)
        text = f"{head.rsplit(', file ', 1)[-1]}: {rest.split(': ', 1)[1]}"
    return text if len(text) <= width else text[: width - 1] + "…"


def _worth_saying(vintage: dict[str, Any]) -> bool:
    """A vintage's detail line tells more than its status: a failed fetch, a refusal, a reader's note."""
    if vintage["fetch_failed"] or vintage["status"] == "invalid":
        return True
    if vintage["status"] == "missing":
        return " — no snapshot of " not in vintage["detail"] or ": no file is known" in vintage["detail"]
    return " — " in vintage["detail"]  # a note of the reader (a GTFS feed without service that day)


class BuildDisplay:
    """Listens to the run path's progress reports and prints them as a user wants to read them."""

    def __init__(self, out=None, *, live: bool | None = None) -> None:
        # The terminal as it is now: while runs execute, dbt's own output goes to the log file.
        self.out = out or sys.stdout
        self.live = self.out.isatty() if live is None else live
        self._source: str | None = None
        self._vintages: list[dict[str, Any]] = []
        self._dbt_shown = -1

    def echo(self, message: str, **style) -> None:
        click.secho(message, file=self.out, **style)

    # progress.listening() calls this for every report
    def __call__(self, kind: str, fields: dict[str, Any]) -> None:
        if kind == "run":
            return  # the runs of one source follow each other: its line comes once its vintages are in
        if kind == "source":
            if self._source not in (None, fields["source"]):
                self.flush()
            self._source = fields["source"]
            self._vintages.append(fields)
            return
        self.flush()
        handler = getattr(self, f"_on_{kind}", None)
        if handler:
            handler(fields)

    def flush(self) -> None:
        """Print the line of the source whose vintages were reported."""
        if not self._source:
            return
        vintages, source = self._vintages, self._source
        self._source, self._vintages = None, []
        statuses = ", ".join(f"{v['vintage']} {v['status']}" for v in vintages)
        fetched = [s for v in vintages for s in v["fetched"].values()]
        downloaded = sum(v["bytes"] for v in vintages)
        fetch = ""
        if fetched:
            counts = {}
            for status in fetched:
                counts[FETCH_WORDS.get(status, status)] = counts.get(FETCH_WORDS.get(status, status), 0) + 1
            fetch = "fetched " + ", ".join(f"{n} {word}" for word, n in counts.items())
            fetch += f" ({_size(downloaded)})" if downloaded else ""
        seconds = sum(v["seconds"] for v in vintages)
        worth_saying = [v for v in vintages if _worth_saying(v)]
        self.echo(
            f"  {source:<22} {statuses:<34} {fetch:<24} {seconds:5.1f} s",
            fg="yellow" if worth_saying or any(v["status"] != "unchanged" and v["status"] != "loaded" for v in vintages) else None,
        )
        said: dict[tuple[str, str], list[str]] = {}
        for v in worth_saying:
            said.setdefault((v["status"], short_reason(v["detail"])), []).append(v["vintage"])
        for (status, reason), names in said.items():
            self.echo(f"      {', '.join(names)} {status}: {reason}", fg="yellow")

    def _on_note(self, fields) -> None:
        self.echo(f"  note: {fields['message']}", fg="yellow")

    def _on_waiting(self, fields) -> None:
        self.echo(f"  {fields['message']}", fg="yellow")

    def _on_leftovers(self, fields) -> None:
        self.echo(f"  {fields['message']}", fg="yellow")

    def _on_transform(self, fields) -> None:
        status = fields["status"]
        if status == "up_to_date":
            self.echo("  transform: nothing changed since the published build; dbt, publish and exports skipped", fg="green")
        elif status == "started":
            self.echo(f"  dbt: building {fields['total']} models, seeds and their tests")
            self._dbt_shown = 0
        elif status == "done":
            self._end_dbt_line()
            self.echo(f"  dbt: {fields['done']}/{fields['total']} built, tests passed")
        elif status == "failed":
            self._end_dbt_line()
            failed = fields.get("failed") or []
            self.echo(f"  dbt failed: {', '.join(failed[:12]) or 'see the log'}" + (" …" if len(failed) > 12 else ""), fg="red")

    def _on_dbt(self, fields) -> None:
        done, total = fields["done"], max(fields["total"], 1)
        if self.live:
            click.echo(f"\r  dbt: {done}/{total}", nl=False, file=self.out)
            self._dbt_shown = done
        elif done * 4 // total > self._dbt_shown * 4 // total:  # a line at each quarter
            self.echo(f"  dbt: {done}/{total}")
            self._dbt_shown = done

    def _end_dbt_line(self) -> None:
        if self.live and self._dbt_shown > 0:
            click.echo("", file=self.out)
        self._dbt_shown = -1

    def _on_dbt_test(self, fields) -> None:
        self._end_dbt_line()
        self.echo(f"  dbt test failed ({fields['severity']}): {fields['name']}", fg="yellow")

    def _on_publish(self, fields) -> None:
        if fields["status"] == "done":
            self.echo(f"  published build {fields['build_id']}: {fields['path']} ({_size(fields['bytes'])})", fg="green")
        elif fields["status"] == "failed":
            self.echo(f"  publish refused: {fields['error'][:400]}", fg="red")

    def _on_exports(self, fields) -> None:
        if fields["status"] == "done":
            removed = f"; removed {len(fields['removed'])} older export(s)" if fields["removed"] else ""
            self.echo(f"  exports: {fields['files']} files in {fields['path']}{removed}")

    def _on_atlas(self, fields) -> None:
        if fields["status"] == "done":
            self.echo(f"  atlas: {fields['path']}/index.html ({fields['files']} files, {_size(fields['bytes'])}, {fields['seconds']:.1f} s)")


def print_summary(result: BuildResult, warehouse, echo: Callable[..., None] = click.secho) -> None:
    """The end of a build: outcome, what failed, where the log is."""
    statuses = [s for vintages in result.source_statuses.values() for s in vintages.values()]
    counts = ", ".join(f"{statuses.count(s)} {s}" for s in sorted(set(statuses))) or "no vintage"
    for check in result.failed_checks:
        echo(f"  check failed: {check[:300]}", fg="yellow")
    for step in result.failed_steps:
        echo(f"  step failed: {step[:300]}", fg="red")
    outcome = result.outcome
    lead = {
        "published": ("published", "green"),
        "up_to_date": ("up to date: nothing new upstream, the published warehouse stays as it is", "green"),
        "ingested": ("ingested (no transformation run)", "green"),
        "failed": ("FAILED: the published warehouse, if any, is unchanged", "red"),
    }[outcome]
    if outcome == "published" and not result.success:
        lead = (f"published, but {sum(not r.success for r in result.runs)} run(s) failed (see above)", "yellow")
    echo(f"build {lead[0]} in {result.seconds:.0f} s — {len(result.source_statuses)} sources ({counts}); "
         f"{len(result.runs)} Dagster runs", fg=lead[1])  # fmt: skip
    echo(f"  warehouse  {warehouse}")
    if result.log_file:
        echo(f"  full log   {result.log_file}")
