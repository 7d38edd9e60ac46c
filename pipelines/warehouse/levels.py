"""The levels indicators are published at (indicators.long's `level`).

The administrative ones, then INSEE's zonings (read from the table d'appartenance; each has
a geo.<level> table). dbt's macro rollup_level_keys() lists the same levels with the column
of geo.commune each is keyed on.
"""

ADMINISTRATIVE_LEVELS = ("commune", "epci", "departement", "region", "france")
ZONING_LEVELS = ("arrondissement", "canton", "zone_emploi", "unite_urbaine", "aire_attraction", "bassin_vie")
LEVELS = (*ADMINISTRATIVE_LEVELS, *ZONING_LEVELS)
