"""Population: legal populations, census population by age, census households and cars,
incomes and poverty (Filosofi)."""

from pipelines.orchestration.source_assets import build_source_asset

raw_insee_population = build_source_asset("insee_population", group_name="population")
raw_insee_census_age = build_source_asset("insee_census_age", group_name="population")
raw_insee_census_housing = build_source_asset("insee_census_housing", group_name="population")
raw_insee_filosofi = build_source_asset("insee_filosofi", group_name="population")
