"""Health: DREES accessibility to general practitioners (APL), FINESS health and social establishments."""

from pipelines.orchestration.source_assets import build_source_asset

raw_drees_apl = build_source_asset("drees_apl", group_name="health")
raw_finess = build_source_asset("finess", group_name="health")
