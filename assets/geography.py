"""Geography backbone: communes, EPCI, départements, régions, legal population, COG movements,
where each commune is (town hall, centre, contour), the commune polygons of each COG year
(Etalab contours administratifs) and the zonings it belongs to (INSEE's table d'appartenance)."""

from pipelines.orchestration.source_assets import build_source_asset

raw_etalab_decoupage = build_source_asset("etalab_decoupage", group_name="geography")
raw_insee_cog = build_source_asset("insee_cog", group_name="geography")
raw_commune_locations = build_source_asset("commune_locations", group_name="geography")
raw_etalab_contours = build_source_asset("etalab_contours", group_name="geography")
raw_insee_appartenance = build_source_asset("insee_appartenance", group_name="geography")
