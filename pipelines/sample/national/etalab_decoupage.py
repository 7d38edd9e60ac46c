"""Etalab decoupage-administratif files of the national territory, for geography 2025 and 2026.

Each vintage has communes.json (every commune actuelle, commune déléguée and arrondissement
municipal: about 37,000 entries at scale 1, a commune nouvelle listing its absorbed codes in
`anciensCodes`), epci.json (about 1,250 EPCI with their member communes, the largest
population totale first), departements.json (101) and regions.json (18). Field names, their
order and the layout (a JSON array, one compact object per line) are those of
:func:`pipelines.sample.territory.write_etalab_decoupage`; the populations are those of the
vintage's geography. DuckDB builds the objects and writes them straight to disk.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.sample.national.common import copy_lines, vintage_dir
from pipelines.sample.national.territory import NationalTerritory
from pipelines.sample.territory import SAMPLE_GEOGRAPHY_VINTAGES

SOURCE = "etalab_decoupage"

_HEAD = "'code', code, 'nom', libelle, 'typeLiaison', tncc, 'zone', zone"
_PLACE = "'arrondissement', arrondissement, 'departement', departement, 'region', region"
_POSTAL = "'codesPostaux', [postal_code], 'population', population"

DEPARTEMENTS_QUERY = """
    select row_number() over (order by code) as position,
           json_object('code', code, 'region', region, 'chefLieu', chef_lieu, 'nom', nom,
                       'typeLiaison', tncc, 'zone', zone) as object
    from departements
"""
REGIONS_QUERY = """
    select row_number() over (order by code) as position,
           json_object('code', code, 'chefLieu', chef_lieu, 'nom', nom, 'typeLiaison', tncc, 'zone', zone) as object
    from regions
"""


def write(territory: NationalTerritory, con: duckdb.DuckDBPyConnection, dest: Path) -> list[str]:
    """Write the four JSON files of each geography vintage; returns the vintages written."""
    for vintage in SAMPLE_GEOGRAPHY_VINTAGES:
        folder = vintage_dir(dest, SOURCE, vintage)
        write_json_array(con, communes_query(vintage), folder / "communes.json")
        write_json_array(con, epcis_query(vintage), folder / "epci.json")
        write_json_array(con, DEPARTEMENTS_QUERY, folder / "departements.json")
        write_json_array(con, REGIONS_QUERY, folder / "regions.json")
    return list(SAMPLE_GEOGRAPHY_VINTAGES)


def communes_query(vintage: str) -> str:
    """One object per entry of the vintage, by code (a commune before its déléguée of the same code)."""
    actuelle = f"{_HEAD}, {_PLACE}, 'type', type, 'rangChefLieu', 0"
    return f"""
        select row_number() over (order by code, type) as position,
               case type
                   when 'commune-actuelle' then if(
                       len(former_codes) = 0,
                       json_object({actuelle}, 'siren', siren, {_POSTAL}),
                       json_object({actuelle}, 'anciensCodes', former_codes, 'siren', siren, {_POSTAL}))
                   when 'arrondissement-municipal' then
                       json_object({_HEAD}, 'type', type, 'commune', parent, {_PLACE}, {_POSTAL})
                   else json_object({_HEAD}, 'type', type, 'chefLieu', parent, {_PLACE})
               end as object
        from communes
        where vintage = '{vintage}'
    """


def epcis_query(vintage: str) -> str:
    """One object per EPCI of the vintage, with its populations and members."""
    member = (
        "'code', c.code, 'siren', c.siren, 'nom', c.libelle, "
        "'populationTotale', c.population_totale, 'populationMunicipale', c.population"
    )
    return f"""
        select row_number() over (order by e.code) as position,
               json_object('code', e.code, 'nom', e.nom, 'type', e.type, 'modeFinancement', e.financing,
                           'populationTotale', cast(sum(c.population_totale) as bigint),
                           'populationMunicipale', cast(sum(c.population) as bigint),
                           'membres', list(json_object({member}) order by c.population_totale desc, c.code)) as object
        from epcis e
        join actuelles c on c.vintage = e.vintage and c.epci = e.code
        where e.vintage = '{vintage}'
        group by e.code, e.nom, e.type, e.financing
    """


def write_json_array(con: duckdb.DuckDBPyConnection, query: str, path: Path) -> None:
    """Write the objects of a query (columns position, object) as a JSON array, one object per line."""
    copy_lines(
        con,
        f"""
        select line from (
            select 0 as part, 0 as position, '[' as line
            union all
            select 1, position, object::varchar || if(position < count(*) over (), ',', '') from ({query})
            union all
            select 2, 0, ']'
        )
        order by part, position
        """,
        path,
    )
