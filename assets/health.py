"""Health: DREES accessibility to general practitioners (APL)."""

from pipelines.orchestration.source_assets import build_source_asset

raw_drees_apl = build_source_asset("drees_apl", group_name="health")
