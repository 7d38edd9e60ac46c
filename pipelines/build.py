"""Run the asset graph in process: what `territoires build` and `territoires demo` do."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import dagster as dg

from pipelines.instance import prepare_dagster_home
from pipelines.settings import DataHome


@dataclass
class BuildResult:
    """What a build run did, in the terms a user cares about."""

    success: bool
    run_id: str
    failed_steps: list[str] = field(default_factory=list)
    failed_checks: list[str] = field(default_factory=list)
    source_statuses: dict[str, dict[str, str]] = field(default_factory=dict)


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
) -> BuildResult:
    """Fetch and load the selected sources, run dbt, and publish, as one Dagster run.

    `sources` limits the run to those sources and what depends on them; `vintages`
    limits every selected source to those vintages, `vintages_by_source` sets them
    source by source.
    """
    prepare_dagster_home(home)
    # Imported here: loading the definitions needs DAGSTER_HOME and the dbt manifest.
    from pipelines.definitions import all_assets
    from pipelines.resources import default_resources
    from pipelines.sources.catalogue import get_source

    raw = _raw_assets(all_assets)
    for source_id in sources:
        get_source(source_id)  # unknown id: a clear error listing the known ones
    selected = list(sources) or sorted(raw)
    selection = dg.AssetSelection.all()
    if sources:
        # What depends on the chosen sources, plus what that needs (dbt seeds), minus other sources.
        others = [raw[s].key for s in raw if s not in selected]
        selection = (
            dg.AssetSelection.assets(*[raw[s].key for s in selected]).downstream().upstream()
            - dg.AssetSelection.assets(*others)
        )

    run_config: dict = {"ops": {}}
    for source_id in selected:
        wanted = [v for v in vintages if v in get_source(source_id).vintages] if vintages else []
        if vintages_by_source is not None:
            wanted = list(vintages_by_source.get(source_id, []))
        run_config["ops"][raw[source_id].op.name] = {"config": {"vintages": wanted}}

    with dg.DagsterInstance.get() as instance:
        result = dg.materialize(
            all_assets,
            selection=selection,
            instance=instance,
            resources=default_resources(home=str(home.root), offline=offline, source_mirror=mirror),
            run_config=run_config,
            raise_on_error=False,
            tags={"territoires/trigger": trigger, "territoires/writes": "warehouse"},
        )
    return summarise(result)


def summarise(result: dg.ExecuteInProcessResult) -> BuildResult:
    """Failed steps, failed checks and per-source vintage statuses of a finished run."""
    summary = BuildResult(success=result.success, run_id=result.run_id)
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            error = event.step_failure_data.error
            summary.failed_steps.append(f"{event.step_key}: {_failure_message(error.message if error else '')}")
    for evaluation in result.get_asset_check_evaluations():
        if not evaluation.passed:
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
