"""Establishments: the SIRENE stock, filtered to the activities the indicators use (cafés, bars…)."""

from pipelines.orchestration.source_assets import build_source_asset

raw_insee_sirene = build_source_asset("insee_sirene", group_name="establishments")
