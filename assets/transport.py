"""Transport: GTFS feeds (stops and departures) and the SNCF station list."""

from pipelines.orchestration.source_assets import build_source_asset

raw_transport_gtfs = build_source_asset("transport_gtfs", group_name="transport")
raw_sncf_stations = build_source_asset("sncf_stations", group_name="transport")
