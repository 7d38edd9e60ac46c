"""Equipment: the INSEE base permanente des équipements (GPs, pharmacies, post, shops, stations…)
and the France Services points."""

from pipelines.orchestration.source_assets import build_source_asset

raw_insee_bpe = build_source_asset("insee_bpe", group_name="equipment")
raw_anct_france_services = build_source_asset("anct_france_services", group_name="equipment")
