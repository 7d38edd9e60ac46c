"""Zonings: density grid, rural revitalisation (FRR, ZRR), priority neighbourhoods (QPV),
the Observatoire des Territoires indicators, the communes of the ACV and PVD programmes and
those of the loi Littoral."""

from pipelines.orchestration.source_assets import build_source_asset

raw_insee_density_grid = build_source_asset("insee_density_grid", group_name="zoning")
raw_anct_frr = build_source_asset("anct_frr", group_name="zoning")
raw_anct_zrr = build_source_asset("anct_zrr", group_name="zoning")
raw_anct_qpv = build_source_asset("anct_qpv", group_name="zoning")
raw_anct_observatoire = build_source_asset("anct_observatoire", group_name="zoning")
raw_anct_centres = build_source_asset("anct_centres", group_name="zoning")
raw_anct_littoral = build_source_asset("anct_littoral", group_name="zoning")
