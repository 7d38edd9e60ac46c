"""data.gouv.fr's communes-france-2026.csv for the national territory.

One row per commune actuelle of geography 2026 (about 34,300 at scale 1), by code, in the
layout of :mod:`pipelines.sample.commune_locations` (an unnamed row index, then the 47
columns of data.gouv.fr). The town hall is the territory's; the centre is drawn 200 to
1,000 metres from it (Paris, Lyon and Marseille have none, as in the real file). The
columns the territory knows are filled as data.gouv.fr fills them (names, région,
département, canton, EPCI, postal code, population, density level and its label); the area
is drawn log-normally around 12 km² for a village (as many over as under), larger for a
city (80 km² around for a city of two million), and gives the density; the other columns
stay empty.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from pipelines.sample.commune_locations import CITIES_WITHOUT_CENTRE, HEADER, VINTAGE
from pipelines.sample.insee_density_grid import LEVEL_LABELS
from pipelines.sample.national.common import vintage_dir
from pipelines.sample.national.territory import NationalTerritory

SOURCE = "commune_locations"
INDEX = "index"  # the name the unnamed first column has while DuckDB writes the file


def write(territory: NationalTerritory, con: duckdb.DuckDBPyConnection, dest: Path) -> list[str]:
    """Write communes-france-2026.csv; returns the vintage written."""
    path = vintage_dir(dest, SOURCE, VINTAGE) / f"communes-france-{VINTAGE}.csv"
    partial = path.with_name(f".{path.name}.partial")
    con.execute(f"copy ({locations_query()}) to '{partial}' (header)")
    with open(partial, "rb") as source, open(path, "wb") as target:
        source.readline()  # DuckDB cannot name a column with nothing: the index column gets its empty name here
        target.write((",".join(HEADER) + "\n").encode())
        shutil.copyfileobj(source, target, 1 << 20)
    partial.unlink()
    return [VINTAGE]


def locations_query() -> str:
    """The rows of the file, by code, every column of HEADER in its order."""
    no_centre = ", ".join(f"'{code}'" for code in CITIES_WITHOUT_CENTRE)
    labels = " ".join(f"when {level} then '{label}'" for level, label in LEVEL_LABELS.items())
    known = {
        "": "row_number() over (order by c.code) - 1",
        "code_insee": "c.code",
        "nom_standard": "c.libelle",
        "nom_sans_pronom": "c.name",
        "nom_sans_accent": "strip_accents(c.libelle)",
        "nom_standard_majuscule": "upper(c.libelle)",
        "typecom": "'COM'",
        "typecom_texte": "'commune'",
        "reg_code": "c.region",
        "reg_nom": "r.nom",
        "dep_code": "c.departement",
        "dep_nom": "d.nom",
        "canton_code": "c.canton",
        "epci_code": "c.epci",
        "epci_nom": "e.nom",
        "code_postal": "c.postal_code",
        "codes_postaux": "c.postal_code",
        "population": "c.population",
        "superficie_hectare": "cast(round(c.area * 100) as bigint)",
        "superficie_km2": "cast(round(c.area) as bigint)",
        "densite": "round(c.population / c.area, 1)",
        "latitude_mairie": "printf('%.5f', c.lat)",
        "longitude_mairie": "printf('%.5f', c.lon)",
        "latitude_centre": "printf('%.5f', c.centre_lat)",
        "longitude_centre": "printf('%.5f', c.centre_lon)",
        "grille_densite": "c.density_level",
        "grille_densite_texte": f"case c.density_level {labels} end",
    }
    return f"""
        with drawn as (
            select *,
                   exp(ln(12) + 0.8 * rnd_normal(code, 'location-area')) * sqrt(1 + population / 50000) as area,  -- km²
                   0.2 + 0.8 * rnd(code, 'location-distance') as distance,  -- km from the town hall to the centre
                   2 * pi() * rnd(code, 'location-bearing') as bearing
            from actuelles where vintage = '{VINTAGE}'
        ),
        c as (
            select *,
                   if(code in ({no_centre}), null, lat + distance * sin(bearing) / 111.2) as centre_lat,
                   if(code in ({no_centre}), null, lon + distance * cos(bearing) / (111.2 * cos(radians(lat)))) as centre_lon
            from drawn
        )
        select {', '.join(f'{known.get(name, "null")} as "{name or INDEX}"' for name in HEADER)}
        from c
        join regions r on r.code = c.region
        join departements d on d.code = c.departement
        left join epcis e on e.vintage = c.vintage and e.code = c.epci
        order by c.code
    """
