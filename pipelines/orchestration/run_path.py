"""Run the asset graph in process: what `territoires build` and `territoires demo` do."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime, timezone
from dataclasses import dataclass, field

import dagster as dg

from pipelines.warehouse.fingerprint import inputs_fingerprint, published_fingerprint
from pipelines.orchestration.instance import prepare_dagster_home
from pipelines.settings import DataHome


@dataclass
class BuildResult:
    """What a build did, in the terms a user cares about."""

    success: bool
    run_ids: list[str]
    failed_steps: list[str] = field(default_factory=list)
    failed_checks: list[str] = field(default_factory=list)
    source_statuses: dict[str, dict[str, str]] = field(default_factory=dict)
    # nothing new upstream: the published warehouse already holds these inputs
    up_to_date: bool = False

    @property
    def run_id(self) -> str:
        return self.run_ids[-1]

    def merge(self, later: "BuildResult") -> "BuildResult":
        """This result followed by a later run of the same build."""
        return BuildResult(
            success=self.success and later.success,
            run_ids=self.run_ids + later.run_ids,
            failed_steps=self.failed_steps + later.failed_steps,
            failed_checks=self.failed_checks + later.failed_checks,
            source_statuses={**self.source_statuses, **later.source_statuses},
        )


def _raw_assets(all_assets) -> dict[str, dg.AssetsDefinition]:
    return {
        a.key.path[1]: a
        for a in all_assets
        if isinstance(a, dg.AssetsDefinition) and len(a.keys) == 1 and a.key.path[0] == "raw"
    }


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
) -> BuildResult:
    """Fetch and load the selected sources, then run dbt and publish: two Dagster runs.

    `sources` limits the ingestion to those sources; `vintages` limits every selected
    source to those vintages, `vintages_by_source` sets them source by source. When the
    loaded snapshots and the transformation code are those of the published warehouse,
    the second run is skipped (`up_to_date`) unless `force`.
    """
    prepare_dagster_home(home)
    # Imported here: loading the definitions needs DAGSTER_HOME and the dbt manifest.
    from pipelines.orchestration.definitions import all_assets
    from pipelines.orchestration.resources import default_resources
    from pipelines.sources.catalogue import get_source

    raw = _raw_assets(all_assets)
    for source_id in sources:
        get_source(source_id)  # unknown id: a clear error listing the known ones
    selected = list(sources) or sorted(raw)
    run_config: dict = {"ops": {}}
    for source_id in selected:
        wanted = [v for v in vintages if v in get_source(source_id).vintages] if vintages else []
        if vintages_by_source is not None:
            wanted = list(vintages_by_source.get(source_id, []))
        run_config["ops"][raw[source_id].op.name] = {"config": {"vintages": wanted}}

    resources = default_resources(home=str(home.root), offline=offline, source_mirror=mirror)
    tags = {"territoires/trigger": trigger, "territoires/writes": "warehouse"}
    raw_keys = [raw[s].key for s in selected]
    with dg.DagsterInstance.get() as instance:
        # 1. ingestion: fetch, check and load the selected sources
        ingest = dg.materialize(
            all_assets,
            selection=dg.AssetSelection.assets(*raw_keys),
            instance=instance,
            resources=resources,
            run_config=run_config,
            raise_on_error=False,
            tags=tags,
        )
        summary = summarise(ingest)
        if not ingest.success:
            return _remember(home, summary)
        # 2. transformation and publish, unless nothing changed since the published build
        if not force and published_fingerprint(home) == inputs_fingerprint(home):
            summary.up_to_date = True
            return _remember(home, summary)
        transform = dg.materialize(
            all_assets,
            selection=dg.AssetSelection.all() - dg.AssetSelection.assets(*[a.key for a in raw.values()]),
            instance=instance,
            resources=resources,
            raise_on_error=False,
            tags=tags,
        )
    return _remember(home, summary.merge(summarise(transform)))


def _remember(home: DataHome, summary: BuildResult) -> BuildResult:
    """Keep the outcome of the last build beside the data, for `territoires status`."""
    outcome = "failed" if not summary.success else "up to date" if summary.up_to_date else "published"
    record = {
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "outcome": outcome,
        "run_ids": summary.run_ids,
        "sources": summary.source_statuses,
        "failed_checks": summary.failed_checks,
        "failed_steps": summary.failed_steps,
    }
    (home.root / "last_build.json").write_text(json.dumps(record, indent=1, ensure_ascii=False), encoding="utf-8")
    return summary


def summarise(result: dg.ExecuteInProcessResult) -> BuildResult:
    """Failed steps, failed checks and per-source vintage statuses of a finished run."""
    summary = BuildResult(success=result.success, run_ids=[result.run_id])
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            error = event.step_failure_data.error
            summary.failed_steps.append(f"{event.step_key}: {_failure_message(error.message if error else '')}")
    for evaluation in result.get_asset_check_evaluations():
        # warnings (an overdue release, say) are shown in the UI and `territoires status`
        if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR:
            label = f"{evaluation.asset_key.to_user_string()} · {evaluation.check_name}"
            description = evaluation.description or ""
            summary.failed_checks.append(f"{label}: {description}".rstrip(": "))
    for materialization in result.get_asset_materialization_events():
        mat = materialization.materialization
        if mat.asset_key.path[0] == "raw" and "vintages" in mat.metadata:
            summary.source_statuses[mat.asset_key.path[1]] = mat.metadata["vintages"].value
    return summary


def _failure_message(message: str) -> str:
    """The useful part of a step failure: dbt's own error lines when there are some."""
    message = re.sub(r"\x1b\[[0-9;]*m", "", message)  # dbt colours its output
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    if "Errors parsed from dbt logs:" in lines:
        lines = lines[lines.index("Errors parsed from dbt logs:") + 1 :]
        return " | ".join(lines[:6])
    return lines[0] if lines else "failed"
