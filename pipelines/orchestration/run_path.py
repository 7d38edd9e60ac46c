"""The one run path: what a build does, how its runs start, and how they are locked and recorded.

Every build — `territoires build` or `demo`, a schedule tick, a sensor run request, a
launch from the UI — is made of Dagster runs of the code location's asset job, recorded in
the instance under the data home:

1. one ingestion run per source: its raw asset, for a range of its vintage partitions
   (fetch, snapshot, check, load; a source that fails does not stop the others). An
   offline command-line build skips the run of a source whose snapshots are all loaded
   already, and reports it unchanged;
2. one transformation run: the programme inputs, the dbt models, publish, exports and
   docs. Its dbt step does nothing when the build database holds the inputs of the
   published warehouse (the no-op), and publish, exports and docs are then skipped.

`plan_build` is the single place that decides what a build does: which sources, which
vintages (discovering new weeks and months and adding them as partitions), whether it is
forced. Schedules and the sensor turn its plan into RunRequests for the daemon, whose run
queue runs them one at a time in order; `execute` runs the same requests in this process.
Either way each run holds the data-home lock while it writes (a resource every writing
asset requires); a command-line build holds it across all its runs, so two builds never
interleave. The lock file and the run tags (`territoires/*`) say who does what.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import dagster as dg

from pipelines.orchestration import progress
from pipelines.orchestration.instance import prepare_dagster_home
from pipelines.orchestration.partitions import add_vintages, contiguous_ranges, partition_order
from pipelines.orchestration.run_outcome import OUTCOME_TAG, PLAN_TAG, TRIGGER_TAG, WRITES_TAG
from pipelines.orchestration.source_assets import FORCE_TAG, raw_asset_key
from pipelines.settings import PROJECT_ROOT, DataHome, mirror as mirror_from_environment
from pipelines.sources.catalogue import Source, get_source, load_catalogue
from pipelines.sources.discovery import DiscoveredVintage, discover
from pipelines.sources.errors import SourceError
from pipelines.sources.snapshots import RawStore
from pipelines.warehouse.disk import require_free_space
from pipelines.warehouse.housekeeping import remove_leftovers
from pipelines.warehouse.ingestion import VintageOutcome, known_vintages
from pipelines.warehouse.lock import data_home_lock

DEFINITIONS_MODULE = "pipelines.orchestration.definitions"
ASSET_JOB = "__ASSET_JOB"  # Dagster's job of every asset of the code location
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"
# On the ingestion runs of an offline, unforced build: the vintages of the run. A run whose
# vintages all hold the snapshots already loaded (or none) has nothing to do offline: the
# command-line build reports them unchanged without starting it (see `execute`).
OFFLINE_VINTAGES_TAG = "territoires/offline_vintages"


# ------------------------------------------------------------------------------ deciding


@dataclass(frozen=True)
class BuildRequest:
    """What someone asked for: `territoires build` flags, a schedule, the sensor's findings."""

    trigger: str = "cli"
    sources: tuple[str, ...] = ()  # empty: every catalogue source
    vintages: tuple[str, ...] = ()  # empty: every known vintage of each source
    vintages_by_source: dict[str, list[str]] | None = None  # overrides `vintages`, source by source
    force: bool = False  # parse, transform and publish even when nothing changed
    offline: bool = False  # no network at all: the stored snapshots as they are
    mirror: str = ""  # a folder or http base laid out as <source>/<vintage>/<file>
    home: str = ""  # the data home; empty: TERRITOIRES_HOME when the run starts
    discover: bool = True  # look upstream for new weeks and months
    transform: bool = True  # add the transformation run


@dataclass(frozen=True)
class PlannedRun:
    """One Dagster run of a build: its assets, partitions, config and tags."""

    kind: str  # 'ingest' or 'transform'
    asset_selection: tuple[dg.AssetKey, ...]
    run_config: dict[str, Any]
    tags: dict[str, str]
    source: str | None = None
    partitions: tuple[str, str] | None = None

    def describe(self) -> str:
        if self.kind == "transform":
            return "transform: programme inputs, dbt, publish, exports, docs"
        first, last = self.partitions or ("", "")
        return f"ingest {self.source} {first}" + (f"…{last}" if last != first else "")

    def run_request(self, run_key: str | None) -> dg.RunRequest:
        return dg.RunRequest(
            run_key=run_key, asset_selection=list(self.asset_selection), run_config=self.run_config, tags=self.tags
        )


@dataclass
class BuildPlan:
    """The runs of one build, in order, and what planning found on the way."""

    plan_id: str
    runs: list[PlannedRun] = field(default_factory=list)
    new_vintages: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def run_requests(self, key: str | None = None) -> list[dg.RunRequest]:
        """The plan as RunRequests (run keys `<key>:<n>` deduplicate a repeated tick or finding)."""
        return [run.run_request(f"{key}:{n}" if key else None) for n, run in enumerate(self.runs)]


def _resources_config(request: BuildRequest, names: Sequence[str]) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for name in names:
        fields: dict[str, Any] = {}
        if name in ("warehouse", "home_lock") and request.home:
            fields["home"] = request.home
        if name == "sources":
            fields = {"mirror": request.mirror, "offline": request.offline}
        if fields:
            config[name] = {"config": fields}
    return config


def _wanted_vintages(request: BuildRequest, source: Source, store: RawStore, found: list[DiscoveredVintage]) -> list[str]:
    if request.vintages_by_source is not None:
        wanted = list(request.vintages_by_source.get(source.id, []))
        for vintage in wanted:
            source.vintage(vintage)  # a vintage the source cannot have: a clear error now
        return sorted(wanted)
    known = set(known_vintages(store, source)) | {d.vintage for d in found}
    if request.vintages and request.sources:
        for vintage in request.vintages:
            source.vintage(vintage)  # `--source S --vintage V`: V must be one of S's
        return sorted(request.vintages)
    if request.vintages:  # `--vintage V` for every source: those that have it
        return sorted(v for v in request.vintages if v in known or (source.is_dynamic and source.accepts(v)))
    return sorted(known)


def plan_build(
    request: BuildRequest,
    *,
    instance: dg.DagsterInstance,
    home: DataHome,
    transform_keys: Sequence[dg.AssetKey] = (),
    today=None,
    discovered: dict[str, list[DiscoveredVintage]] | None = None,
) -> BuildPlan:
    """Decide the runs of a build: one ingestion run per source and vintage range, then the transformation.

    Weekly and monthly sources are looked up upstream (or in the mirror) unless offline: a
    vintage found there becomes a partition, its files travel in the run's config and are
    recorded by the run itself (under the lock); `discovered` gives what the caller already
    looked up. Unknown source ids, or vintages a named source cannot have, raise CatalogueError.
    """
    plan = BuildPlan(plan_id=f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}")
    catalogue = load_catalogue()
    selected = [get_source(s) for s in request.sources] if request.sources else list(catalogue.values())
    store = RawStore(home.root)
    mirror = request.mirror or mirror_from_environment()
    base_tags = {TRIGGER_TAG: request.trigger, WRITES_TAG: "warehouse", PLAN_TAG: plan.plan_id}
    if request.force:
        base_tags[FORCE_TAG] = "true"
    for source in selected:
        found: list[DiscoveredVintage] = list((discovered or {}).get(source.id, []))
        if source.is_dynamic and request.discover and not request.offline and source.id not in (discovered or {}):
            try:
                found = discover(source, mirror=mirror, today=today)
            except SourceError as exc:
                plan.notes.append(f"{source.id}: new vintages could not be looked up: {exc}")
        plan.notes += [f"{source.id} {d.vintage}: not fetched: {why}" for d in found for why in d.skipped]
        wanted = _wanted_vintages(request, source, store, found)
        if source.is_dynamic:
            added = add_vintages(instance, source, sorted(set(wanted) | set(known_vintages(store, source))))
            if added:
                plan.new_vintages[source.id] = added
        order = partition_order(instance, source)
        files = {d.vintage: d for d in found if d.vintage in wanted}
        for first, last in contiguous_ranges(wanted, order):
            in_range = order[order.index(first) : order.index(last) + 1]
            found_files = {
                v: {"files": files[v].as_records(), "found_by": files[v].found_by} for v in in_range if v in files
            }
            op_config = {"discovered_json": json.dumps(found_files, sort_keys=True)}
            plan.runs.append(
                PlannedRun(
                    kind="ingest",
                    source=source.id,
                    partitions=(first, last),
                    asset_selection=(raw_asset_key(source.id),),
                    run_config={
                        "ops": {f"raw__{source.id}": {"config": op_config}},
                        "resources": _resources_config(request, ("warehouse", "sources", "home_lock")),
                    },
                    tags={
                        **base_tags, RANGE_START: first, RANGE_END: last,
                        **({OFFLINE_VINTAGES_TAG: ",".join(in_range)} if request.offline and not request.force else {}),
                    },  # fmt: skip
                )
            )
    if request.transform:
        plan.runs.append(
            PlannedRun(
                kind="transform",
                asset_selection=tuple(transform_keys),
                run_config={"resources": _resources_config(request, ("warehouse", "home_lock"))},
                tags=dict(base_tags),
            )
        )
    return plan


def transform_keys_of(asset_graph) -> list[dg.AssetKey]:
    """Every asset but the raw source assets: programme inputs, dbt models, publish, exports, docs."""
    return sorted(key for key in asset_graph.get_all_asset_keys() if key.path[0] != "raw")


# ----------------------------------------------------------------------------- executing


@dataclass
class RunSummary:
    """One finished run, as `territoires build` reports it."""

    run_id: str
    description: str
    success: bool
    outcome: str | None = None
    failed_steps: list[str] = field(default_factory=list)
    failed_checks: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    source_statuses: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass
class BuildResult:
    """What a build did, in the terms a user cares about."""

    runs: list[RunSummary] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    log_file: Path | None = None
    seconds: float = 0.0
    # sources an offline build found with nothing to load, and their vintages' statuses (no run started)
    current: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def success(self) -> bool:
        return all(run.success for run in self.runs)

    @property
    def run_ids(self) -> list[str]:
        return [run.run_id for run in self.runs]

    @property
    def run_id(self) -> str:
        return self.run_ids[-1]

    @property
    def outcome(self) -> str:
        """published (a new warehouse is in place), up_to_date, failed, or ingested (no transformation run)."""
        outcomes = [run.outcome for run in self.runs if run.outcome]
        if "failed" in outcomes:
            return "failed"
        if "published" in outcomes:
            return "published"
        if not self.success:
            return "failed"
        return outcomes[-1] if outcomes else "ingested"

    @property
    def up_to_date(self) -> bool:
        return self.outcome == "up_to_date"

    @property
    def failed_steps(self) -> list[str]:
        return [s for run in self.runs for s in run.failed_steps]

    @property
    def failed_checks(self) -> list[str]:
        return [c for run in self.runs for c in run.failed_checks]

    @property
    def warnings(self) -> list[str]:
        return [w for run in self.runs for w in run.warnings]

    @property
    def source_statuses(self) -> dict[str, dict[str, str]]:
        merged: dict[str, dict[str, str]] = {source: dict(statuses) for source, statuses in self.current.items()}
        for run in self.runs:
            for source, statuses in run.source_statuses.items():
                merged.setdefault(source, {}).update(statuses)
        return merged


def _asset_job():
    from dagster._core.definitions.reconstruct import ReconstructableRepository

    repository = ReconstructableRepository.for_module(DEFINITIONS_MODULE, "defs", working_directory=str(PROJECT_ROOT))
    return repository.get_reconstructable_job(ASSET_JOB)


@contextmanager
def _quiet(log_file: Path | None, verbose: bool):
    """Outside --verbose, what Dagster and dbt print goes to the build's log file, not the terminal."""
    if verbose or log_file is None:
        yield
        return
    log_file.parent.mkdir(parents=True, exist_ok=True)
    noisy = logging.getLogger("dagster._core.execution.plan.active")  # "check emitted no result" on a no-op
    level = noisy.level
    noisy.setLevel(logging.ERROR)
    try:
        with open(log_file, "a", encoding="utf-8") as sink, redirect_stdout(sink):
            yield
    finally:
        noisy.setLevel(level)


def execute_request(
    instance: dg.DagsterInstance,
    request: dg.RunRequest,
    *,
    description: str = "",
    verbose: bool = False,
    log_file: Path | None = None,
) -> RunSummary:
    """Run one RunRequest in this process, as a run of the instance (what the daemon's launcher does)."""
    run_config = dict(request.run_config or {})
    if not verbose:  # the full log is in the event log (and the build's log file)
        run_config["loggers"] = {"console": {"config": {"log_level": "CRITICAL"}}}
    with _quiet(log_file, verbose):
        result = dg.execute_job(
            _asset_job(),
            instance=instance,
            asset_selection=list(request.asset_selection or []),
            run_config=run_config,
            tags=dict(request.tags),
            raise_on_error=False,
        )
    return summarise(instance, result, description)


def summarise(instance: dg.DagsterInstance, result: dg.ExecuteInProcessResult, description: str = "") -> RunSummary:
    """Failed steps, failed checks and per-source vintage statuses of a finished run."""
    run = instance.get_run_by_id(result.run_id)
    summary = RunSummary(
        run_id=result.run_id, description=description, success=result.success,
        outcome=(run.tags.get(OUTCOME_TAG) if run else None),
    )  # fmt: skip
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            error = _own_error(event.step_failure_data.error)
            summary.failed_steps.append(f"{event.step_key}: {failure_message(error.message if error else '')}")
        elif event.event_type_value == "RESOURCE_INIT_FAILURE":  # the run stopped before any step, e.g. a full disk
            error = _own_error(getattr(event.event_specific_data, "error", None))
            summary.failed_steps.append(f"run {result.run_id[:8]} could not start: {failure_message(error.message if error else '')}")
    for evaluation in result.get_asset_check_evaluations():
        if evaluation.passed:
            continue
        label = f"{evaluation.asset_key.to_user_string()} · {evaluation.check_name}"
        line = f"{label}: {evaluation.description or ''}".rstrip(": ")
        if evaluation.severity == dg.AssetCheckSeverity.ERROR:
            summary.failed_checks.append(line)
        else:
            summary.warnings.append(line)
    for materialization in result.get_asset_materialization_events():
        mat = materialization.materialization
        if mat.asset_key.path[0] == "raw" and "vintages" in mat.metadata:
            summary.source_statuses[mat.asset_key.path[1]] = mat.metadata["vintages"].value
    return summary


def _own_error(error):
    """The error a step or resource raised, not Dagster's wrappers around it."""
    wrappers = ("DagsterExecutionStepExecutionError", "DagsterResourceFunctionError")
    while error is not None and error.cause is not None and error.cls_name in wrappers:
        error = error.cause
    return error


def failure_message(message: str) -> str:
    """The useful part of a step failure: dbt's own error lines when there are some."""
    import re

    message = re.sub(r"\x1b\[[0-9;]*m", "", message)  # dbt colours its output
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    if "Errors parsed from dbt logs:" in lines:
        lines = lines[lines.index("Errors parsed from dbt logs:") + 1 :]
        return " | ".join(lines[:6])
    return lines[0] if lines else "failed"


def write_run_log(instance: dg.DagsterInstance, run_id: str, log_file: Path) -> None:
    """Append a run's whole event log to a build's log file."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "a", encoding="utf-8") as out:
        for entry in instance.all_logs(run_id):
            when = datetime.fromtimestamp(entry.timestamp, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
            kind = entry.dagster_event.event_type_value if entry.dagster_event else "LOG"
            level = entry.level if isinstance(entry.level, str) else {10: "DEBUG", 20: "INFO", 30: "WARNING", 40: "ERROR"}.get(entry.level, str(entry.level))
            message = entry.message or entry.user_message or ""
            out.write(f"{when} {level:<7} {run_id[:8]} {entry.step_key or '-'} {kind}: {message}\n")


def execute(
    requests: Sequence[dg.RunRequest],
    *,
    home: DataHome,
    descriptions: Sequence[str] = (),
    notes: Sequence[str] = (),
    wait: bool = True,
    verbose: bool = False,
    purpose: str = "",
    on_run: Callable[[RunSummary], None] = lambda summary: None,
) -> BuildResult:
    """Execute RunRequests in order in this process, holding the data-home lock across all of them.

    Used by `territoires build` and `demo`, and by `build --schedule/--sensor` for the
    requests a tick makes. Without `wait`, raises DataHomeBusy at once if another process
    holds the lock. Dagster's full log of every run goes to <home>/logs/build-<time>.log.
    """
    started = time.monotonic()
    require_free_space(home)
    prepare_dagster_home(home)
    log_file = home.logs / f"build-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:4]}.log"
    result = BuildResult(notes=list(notes), log_file=log_file)

    def waiting(holder) -> None:
        progress.report("waiting", message=f"waiting for {holder.describe() if holder else 'another process'} to finish")

    def acquired() -> None:
        removed = remove_leftovers(home)
        if removed:
            progress.report("leftovers", message=f"removed what a killed build left behind: {', '.join(removed[:10])}")

    with data_home_lock(home.lock_file, wait=wait, purpose=purpose, on_wait=waiting, on_acquired=acquired):
        with dg.DagsterInstance.get() as instance:
            currents = _offline_and_current(home, requests)
            for n, request in enumerate(requests):
                description = descriptions[n] if n < len(descriptions) else ""
                current = currents.get(n)
                if current:
                    source_id, outcomes = current
                    for outcome in outcomes:
                        progress.report(
                            "source", source=source_id, vintage=outcome.vintage, status=outcome.status, fetched={},
                            bytes=0, seconds=0.0, detail=outcome.describe(), fetch_failed=False,
                        )  # fmt: skip
                    result.current.setdefault(source_id, {}).update({o.vintage: o.status for o in outcomes})
                    continue
                progress.report("run", description=description)
                summary = execute_request(
                    instance, request, description=description, verbose=verbose, log_file=log_file
                )
                write_run_log(instance, summary.run_id, log_file)
                result.runs.append(summary)
                on_run(summary)
    result.seconds = time.monotonic() - started
    return result


def _offline_and_current(home: DataHome, requests: Sequence[dg.RunRequest]) -> dict[int, tuple[str, list[VintageOutcome]]]:
    """{request index: (source, outcome of each vintage)} for the offline ingestion runs that would
    find every vintage unchanged or without snapshots; a run with work, or whose state cannot
    be told, is not listed.

    Asked under the data-home lock, before the first run starts (each source's state depends
    on its own snapshots and loads only), with one read-only connection closed before any run.
    """
    wanted = {
        n: (get_source(request.asset_selection[0].path[-1]), request.tags[OFFLINE_VINTAGES_TAG].split(","))
        for n, request in enumerate(requests)
        if request.tags.get(OFFLINE_VINTAGES_TAG) and len(request.asset_selection or []) == 1
    }
    if not wanted or not home.work_db.exists():
        return {}
    import duckdb

    from pipelines.warehouse.ingestion import offline_status

    store = RawStore(home.root)
    found = {}
    try:
        with duckdb.connect(str(home.work_db), read_only=True) as con:
            for n, (source, vintages) in wanted.items():
                outcomes = [offline_status(con, store, source, vintage) for vintage in vintages]
                if all(outcomes):
                    found[n] = (source.id, outcomes)
    except duckdb.Error:  # no meta tables yet, say: let the runs find out
        return {}
    return found


def run_build(
    home: DataHome,
    *,
    sources: Sequence[str] = (),
    vintages: Sequence[str] = (),
    vintages_by_source: dict[str, list[str]] | None = None,
    offline: bool = False,
    mirror: str = "",
    trigger: str = "cli",
    force: bool = False,
    wait: bool = True,
    verbose: bool = False,
) -> BuildResult:
    """Plan a build and execute its runs here: what `territoires build` and `territoires demo` do."""
    require_free_space(home)  # before Dagster's storage is touched
    prepare_dagster_home(home)
    from pipelines.orchestration.definitions import defs  # needs DAGSTER_HOME and the dbt manifest

    request = BuildRequest(
        trigger=trigger, sources=tuple(sources), vintages=tuple(vintages), vintages_by_source=vintages_by_source,
        force=force, offline=offline, mirror=mirror, home=str(home.root),
    )  # fmt: skip
    with dg.DagsterInstance.get() as instance:
        plan = plan_build(request, instance=instance, home=home, transform_keys=transform_keys_of(defs.resolve_asset_graph()))
    for note in plan.notes:
        progress.report("note", message=note)
    return execute(
        plan.run_requests(), home=home, descriptions=[r.describe() for r in plan.runs], notes=plan.notes,
        wait=wait, verbose=verbose, purpose=f"territoires build ({trigger})",
    )  # fmt: skip


def describe_request(request: dg.RunRequest) -> str:
    """What a run request does, in a few words (for requests made by a schedule or the sensor)."""
    keys = list(request.asset_selection or [])
    raw = [k.path[1] for k in keys if k.path[0] == "raw"]
    if raw:
        first, last = request.tags.get(RANGE_START, ""), request.tags.get(RANGE_END, "")
        return f"ingest {', '.join(raw)} {first}" + (f"…{last}" if last and last != first else "")
    return "transform: programme inputs, dbt, publish, exports, docs"


def run_tick(
    home: DataHome,
    *,
    schedule: str | None = None,
    sensor: str | None = None,
    mirror: str = "",
    wait: bool = True,
    verbose: bool = False,
    now: datetime | None = None,
) -> BuildResult:
    """Evaluate a schedule's next tick (or a sensor now) and execute its run requests here.

    The tick is the daemon's: the same evaluation function, the same run requests; only
    the execution happens in this process instead of the daemon's queue.
    """
    import os

    from dagster._utils.schedules import cron_string_iterator

    require_free_space(home)
    prepare_dagster_home(home)
    os.environ["TERRITOIRES_HOME"] = str(home.root)  # what the daemon's environment says
    if mirror:
        os.environ["TERRITOIRES_MIRROR"] = mirror
    from pipelines.orchestration.definitions import defs

    names = [s.name for s in defs.schedules] if schedule else [s.name for s in defs.sensors]
    name = schedule or sensor
    if name not in names:
        raise LookupError(f"no {'schedule' if schedule else 'sensor'} named {name!r}; there are: {', '.join(names)}")
    with dg.DagsterInstance.get() as instance:
        if schedule:
            definition = defs.resolve_schedule_def(schedule)
            start = (now or datetime.now(timezone.utc)).timestamp()
            when = next(cron_string_iterator(start, definition.cron_schedule, definition.execution_timezone))
            context = dg.build_schedule_context(
                instance=instance, scheduled_execution_time=when, repository_def=defs.get_repository_def()
            )
            data = definition.evaluate_tick(context)
        else:
            definition = defs.resolve_sensor_def(sensor)
            # the sensor's own resources only: it never takes the lock
            resources = {key: defs.resources[key] for key in definition.required_resource_keys}
            context = dg.build_sensor_context(instance=instance, definitions=defs, resources=resources)
            data = definition.evaluate_tick(context)
    requests = list(data.run_requests or [])
    notes = [f"{name}: {data.skip_message}"] if data.skip_message else []
    for note in notes:
        progress.report("note", message=note)
    return execute(
        requests, home=home, descriptions=[describe_request(r) for r in requests], notes=notes,
        wait=wait, verbose=verbose, purpose=f"territoires build --{'schedule' if schedule else 'sensor'} {name}",
    )  # fmt: skip
