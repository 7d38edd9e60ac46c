"""The France Services national list for the national territory.

liste-structures-france-services.csv (2026), in the layout of
:mod:`pipelines.sample.anct_france_services` (24 columns, comma-separated, text fields
double-quoted, coordinates bare, empty fields empty, LF), on the communes of geography
2026: about 2,800 sites at scale 1, by id.

The most populous commune of every EPCI hosts a France Services (in a rural EPCI, its
bourg); a third of the other small towns and bourgs (density levels 3 to 5, 2,000
inhabitants or more) host one too, and every city of 50,000 inhabitants or more one more
per 60,000 inhabitants (in its neighbourhoods). Beside the EPCI's own, 20 % of the sites
are antennas and 6 % itinerant services (placed at their home base, without opening
hours). A site lies a few hundred metres from the town hall (a few kilometres in a city);
in Paris, Lyon and Marseille insee_com is an arrondissement's code, as in the real list.
Contact details are left empty (the places are fictitious).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.sample.anct_france_services import FILE_NAME, KINDS, LIST_HEADER, OPENING_HOURS, VINTAGE
from pipelines.sample.national.common import copy_lines
from pipelines.sample.national.common import vintage_dir
from pipelines.sample.national.territory import NationalTerritory

SOURCE = "anct_france_services"
TOWN_SHARE = 0.35  # of the small towns and bourgs (levels 3-5, TOWN_POPULATION or more) not hosting their EPCI's
TOWN_POPULATION = 2_000
CITY_POPULATION = 50_000
PEOPLE_PER_CITY_SITE = 60_000
ANTENNA_SHARE, ITINERANT_SHARE = 0.20, 0.06  # of the sites beside the EPCI's own
SUFFIXES = {"FS": "", "Antenne": " - Antenne", "FS itinerante": " itinérante"}
NUMBERS = ("latitude", "longitude")
EMPTY = "''"  # the SQL of a column left empty


def write(territory: NationalTerritory, con: duckdb.DuckDBPyConnection, dest: Path) -> list[str]:
    """Write the 2026 national list; returns ["2026"]."""
    fields = [name if name in NUMBERS else f"""coalesce('"' || replace(nullif({name}, ''), '"', '""') || '"', '')"""
              for name in LIST_HEADER]  # fmt: skip
    header = ",".join(f'"{name}"' for name in LIST_HEADER)
    lines = f"""
        select line from (
            select 0 as id, '{header}' as line
            union all
            select cast(id_fs as integer), {" || ',' || ".join(fields)} from ({sites_query()})
        ) order by id
    """
    copy_lines(con, lines, vintage_dir(dest, SOURCE, VINTAGE) / FILE_NAME)
    return [VINTAGE]


def sites_query() -> str:
    """The rows of the list: every column of LIST_HEADER as text, id_fs numbering the sites by commune code."""
    kinds = " ".join(f"when '{kind}' then '{type_fs}'" for kind, ((type_fs, _), _) in KINDS.items())
    formats = " ".join(f"when '{kind}' then '{format_fs}'" for kind, ((_, format_fs), _) in KINDS.items())
    suffixes = " ".join(f"when '{kind}' then '{suffix}'" for kind, suffix in SUFFIXES.items())
    hours = f"if(kind = 'FS itinerante', '', '{OPENING_HOURS}')"
    columns = {
        "id_fs": "cast(id as varchar)",
        "insee_dep": "departement",
        "lib_fs": f"'France services ' || libelle || if(slot > 1, ' ' || slot, '') || case kind {suffixes} end",
        "adresse": "cast(1 + rnd_int(key, 'fs-address', 40) as varchar) || ' place de la Mairie'",
        "insee_com": "coalesce(arrondissements[1 + rnd_int(key, 'fs-arrondissement', len(arrondissements))], code)",
        "code_postal": "postal_code",
        "lib_com": "libelle",
        "latitude": "cast(round(lat + (rnd(key, 'fs-lat') - 0.5) * spread * 0.75, 6) as varchar)",
        "longitude": "cast(round(lon + (rnd(key, 'fs-lon') - 0.5) * spread, 6) as varchar)",
        **{day: hours for day in ("h_lundi", "h_mardi", "h_mercredi", "h_jeudi", "h_vendredi")},
        "prise_rdv": "'Non'",
        "type_fs": f"case kind {kinds} end",
        "format_fs": f"case kind {formats} end",
        "labellisation_fs": "'Espace labellisé 01/' || lpad(cast(1 + rnd_int(key, 'fs-month', 12) as varchar), 2, '0')"
                            " || '/' || cast(2020 + rnd_int(key, 'fs-year', 5) as varchar)",
    }  # fmt: skip
    selected = ", ".join(f"{columns.get(name, EMPTY)} as {name}" for name in LIST_HEADER)
    return f"""
        with cities as (
            select parent as code, list(code order by code) as arrondissements
            from communes where vintage = '{VINTAGE}' and type = 'arrondissement-municipal'
            group by parent
        ), geography as (
            select *, row_number() over (partition by epci order by population desc, code) = 1 as hosts_epci
            from actuelles left join cities using (code)
            where vintage = '{VINTAGE}'
        ), counted as (
            select *,
                cast(hosts_epci as integer)
                + cast(not hosts_epci and density_level between 3 and 5 and population >= {TOWN_POPULATION}
                       and rnd(code, 'fs-town') < {TOWN_SHARE} as integer)
                + if(population >= {CITY_POPULATION}, population // {PEOPLE_PER_CITY_SITE}, 0) as site_count
            from geography
        ), sites as (
            select *, code || '-' || slot as key,
                   if(population >= {CITY_POPULATION}, 0.06, 0.008) as spread
            from counted, unnest(range(1, site_count + 1)) as t(slot)
        ), kinds as (
            select *, row_number() over (order by code, slot) as id,
                case
                    when hosts_epci and slot = 1 then 'FS'
                    when rnd(key, 'fs-kind') < {ANTENNA_SHARE} then 'Antenne'
                    when rnd(key, 'fs-kind') < {ANTENNA_SHARE + ITINERANT_SHARE} then 'FS itinerante'
                    else 'FS'
                end as kind
            from sites
        )
        select {selected}
        from kinds
    """
