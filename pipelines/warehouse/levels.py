"""The levels indicators are published at (indicators.long's `level`).

The administrative ones, then INSEE's zonings (read from the table d'appartenance; each has
a geo.<level> table). dbt's macro rollup_level_keys() lists the same levels with the column
of geo.commune each is keyed on.
"""

ADMINISTRATIVE_LEVELS = ("commune", "epci", "departement", "region", "france")
ZONING_LEVELS = ("arrondissement", "canton", "zone_emploi", "unite_urbaine", "aire_attraction", "bassin_vie")
LEVELS = (*ADMINISTRATIVE_LEVELS, *ZONING_LEVELS)

# Where each level's areas are named in the published warehouse.
_NAMED = {
    "commune": "select commune_code as code, commune_name as name from geo.commune",
    "epci": "select epci_code as code, epci_name as name from geo.epci",
    "departement": "select departement_code as code, departement_name as name from geo.departement",
    "region": "select region_code as code, region_name as name from geo.region",
}


def area_names_sql(level: str) -> str:
    """SQL of (code, name) of a level's areas (INSEE's zonings: their label)."""
    if level in _NAMED:
        return _NAMED[level]
    if level not in ZONING_LEVELS:
        raise ValueError(f"no areas named for level '{level}'")
    return f"select code, label as name from geo.{level}"
