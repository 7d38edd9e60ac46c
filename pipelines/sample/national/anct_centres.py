"""The ACV and PVD lists of the national territory, in the ANCT layouts of :mod:`pipelines.sample.anct_centres`.

Same vintages and files: 2021 the first PVD list (quoted CSV, NA, the mayors' columns
empty, the publisher's test row 999999), 2024 the ACV map (``var JS_coeurdeville = `` and a
GeoJSON, one feature a line), 2025 the data.gouv.fr lists of both. The communes actuelles of
geography 2025 stand in for those of every list.

* ACV, about 245 communes: in each département, the two largest communes of 10,000 to
  150,000 inhabitants (Paris, Lyon and Marseille excepted), and the third one with
  probability :data:`ACV_THIRD_SHARE`; ids ACV001… in the order of their names.
* PVD, about 1,650 communes in 2025: the towns of 2,000 to 20,000 inhabitants of density
  levels 3 to 5 outside Paris and its inner ring and outside ACV, drawn with probability
  :data:`PVD_SHARE`; in an EPCI with two PVD or more, drawn with probability
  :data:`JOINT_SHARE`, they make one joint application sharing one id. :data:`LATER_SHARE`
  of them were designated after the first list, which lacks them (about 40); the first list
  leaves id_pvd empty for :data:`NO_FIRST_ID_SHARE` of its communes. ids are
  pvd-<région>-<département>-<n>, the applications of the first list numbered first.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.sample.anct_centres import (
    ACV_LIST_FILE,
    ACV_LIST_HEADER,
    ACV_MAP_FILE,
    ACV_MAP_VINTAGE,
    GEOGRAPHY,
    LISTS_VINTAGE,
    PLACEHOLDER_ROW,
    PVD_FIRST_FILE,
    PVD_FIRST_HEADER,
    PVD_FIRST_VINTAGE,
    PVD_LIST_FILE,
    PVD_LIST_HEADER,
    UNQUOTED,
)
from pipelines.sample.national.common import copy_lines, sql_text, vintage_dir
from pipelines.sample.national.territory import NationalTerritory

SOURCE = "anct_centres"
ACV_POPULATION = (10_000, 150_000)
ACV_THIRD_SHARE = 0.45
CITIES = ("75056", "69123", "13055")
INNER_PARIS = ("75", "92", "93", "94")
PVD_POPULATION = (2_000, 20_000)
PVD_SHARE = 0.36
JOINT_SHARE = 0.25
LATER_SHARE = 0.025
NO_FIRST_ID_SHARE = 0.36


def write(territory: NationalTerritory, con: duckdb.DuckDBPyConnection, dest: Path) -> list[str]:
    """Write the three vintages (2021 first PVD list, 2024 ACV map, 2025 data.gouv.fr lists)."""
    _write_first_pvd_list(con, vintage_dir(dest, SOURCE, PVD_FIRST_VINTAGE) / PVD_FIRST_FILE)
    _write_acv_map(con, vintage_dir(dest, SOURCE, ACV_MAP_VINTAGE) / ACV_MAP_FILE)
    lists = vintage_dir(dest, SOURCE, LISTS_VINTAGE)
    acv = ["code", "libelle", "id_acv", "libelle",
           _date("date '2023-09-01'", "acv-signed", "%d-%m-%Y")]  # fmt: skip
    _write_csv(con, lists / ACV_LIST_FILE, ACV_LIST_HEADER, acv, acv_query())
    pvd = ["code", "libelle", "id_pvd", _date("date '2021-02-01'", "pvd-signed", "%d/%m/%Y")]
    _write_csv(con, lists / PVD_LIST_FILE, PVD_LIST_HEADER, pvd, pvd_query())
    return [PVD_FIRST_VINTAGE, ACV_MAP_VINTAGE, LISTS_VINTAGE]


def acv_query() -> str:
    """SQL: the ACV communes (every column of actuelles) with their id_acv."""
    low, high = ACV_POPULATION
    return f"""
        with ranked as (
            select *, row_number() over (partition by departement order by population desc, code) as size_rank
            from actuelles
            where vintage = '{GEOGRAPHY}' and population between {low} and {high} and code not in {CITIES}
        )
        select *, 'ACV' || lpad(cast(row_number() over (order by libelle, code) as varchar), 3, '0') as id_acv
        from ranked
        where size_rank <= 2 or (size_rank = 3 and rnd(code, 'acv-third') < {ACV_THIRD_SHARE})
    """


def pvd_query() -> str:
    """SQL: the PVD communes of the 2025 list (every column of actuelles), id_pvd, and later
    (designated after the first list)."""
    low, high = PVD_POPULATION
    return f"""
        with chosen as (
            select *, rnd(code, 'pvd-later') < {LATER_SHARE} as later
            from actuelles
            where vintage = '{GEOGRAPHY}' and population between {low} and {high} and density_level between 3 and 5
              and departement not in {INNER_PARIS} and code not in (select code from ({acv_query()}))
              and rnd(code, 'pvd') < {PVD_SHARE}
        ), applications as (
            select *, if(count(*) over (partition by epci) >= 2 and rnd(epci, 'pvd-joint') < {JOINT_SHARE},
                         min(code) over (partition by epci), code) as application
            from chosen
        ), numbered as (
            select application, dense_rank() over (
                       partition by departement order by min(later::int), application) as number
            from applications group by application, departement
        )
        select a.*, 'pvd-' || a.region || '-' || a.departement || '-' || n.number as id_pvd
        from applications a join numbered n using (application)
    """


def _write_first_pvd_list(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """The 2021 list: the PVD of the 2025 list but the later ones, R's quoting, the test row in the middle."""
    columns = {
        "id_pvd": f"if(rnd(code, 'pvd-no-first-id') < {NO_FIRST_ID_SHARE}, '', id_pvd)",
        "insee_com": "code", "lib_com": "libelle", "lib_reg": "region_name", "insee_dep": "departement",
        "lib_dep": "departement_name", "nom_maire": "''", "mel_mairie": "''", "site_mairie": "''", "regroupement": "'NA'",
        "pop": "cast(population as varchar)", "date_signature": "''", "siren_epci": "epci", "lib_epci": "epci_name",
    }  # fmt: skip
    fields = [value if name in UNQUOTED else _quoted(value) for name, value in columns.items()]
    placeholder = ",".join(
        value if name in UNQUOTED or value == "NA" else f'"{value}"' for name, value in zip(PVD_FIRST_HEADER, PLACEHOLDER_ROW)
    )
    header = ",".join(f'"{name}"' for name in PVD_FIRST_HEADER)
    copy_lines(con, f"""
        select line from (
            select '' as key, {sql_text(header)} as line
            union all
            select code, {" || ',' || ".join(fields)}
            from ({pvd_query()}) p
            join (select code as region, nom as region_name from regions) using (region)
            join (select code as departement, nom as departement_name from departements) using (departement)
            join (select vintage, code as epci, nom as epci_name from epcis) using (vintage, epci)
            where not later
            union all
            select '5', {sql_text(placeholder)}
        ) order by key
    """, path)  # fmt: skip


def _write_acv_map(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """The ACV map: the GeoJSON assigned to JS_coeurdeville, one feature a line."""
    digits = "regexp_full_match(code, '[0-9]+')"
    feature = f"""json_object(
        'type', 'Feature',
        'properties', json_object(
            'insee_com', if({digits}, to_json(cast(code as integer)), to_json(code)), 'id_acv', id_acv,
            'lib_com', libelle, 'lib_com_carto', replace(libelle, '-', ' '), 'iso_territoire_2', 'FR',
            'pop', population, 'insee_dep', if({digits}, to_json(cast(departement as integer)), to_json(departement)),
            'insee_reg', cast(region as integer), 'siren_epci', cast(epci as bigint), 'lib_reg', region_name),
        'geometry', json_object('type', 'Point', 'coordinates', json_array(round(lon, 4), round(lat, 4))))"""
    copy_lines(con, f"""
        select line from (
            select 0 as part, '' as id, 'var JS_coeurdeville = {{' as line
            union all select 1, '', '  "type": "FeatureCollection",'
            union all select 2, '', '  "features": ['
            union all
            select 3, id_acv, '    ' || {feature} || if(id_acv = max(id_acv) over (), '', ',')
            from ({acv_query()}) join (select code as region, nom as region_name from regions) using (region)
            union all select 4, '', '  ]'
            union all select 5, '', '}}'
        ) order by part, id
    """, path)  # fmt: skip


def _write_csv(
    con: duckdb.DuckDBPyConnection, path: Path, header: tuple[str, ...], columns: list[str], query: str
) -> None:
    """A comma-separated list: the header's columns, from the SQL expressions of `columns`, by code."""
    named = ", ".join(f'{expression} as "{name}"' for name, expression in zip(header, columns))
    con.execute(f"copy (select {named} from ({query}) order by code) to {sql_text(path.as_posix())} (header)")


def _date(start: str, salt: str, form: str) -> str:
    """SQL: a signing date drawn within 480 days of start, as text in the given strftime form."""
    return f"strftime({start} + cast(rnd_int(code, '{salt}', 480) as integer), '{form}')"


def _quoted(expression: str) -> str:
    return f"""'"' || replace({expression}, '"', '""') || '"'"""
