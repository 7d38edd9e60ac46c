"""INSEE's table d'appartenance géographique for the national territory.

The layout of :mod:`pipelines.sample.insee_appartenance` (a zip holding the .xlsx: sheet COM
with five title rows above its header, codes as text; sheet Zones_supra_communales), for
each geography vintage, its communes actuelles by code, and the same zonings drawn the same
way, département by département (in SQL: about 35,000 communes at scale 1):
arrondissement and canton from the territory; bassins de vie around the most populated
communes (one centre per BV_SIZE communes), zones d'emploi around the two largest centres
(one in départements of fewer than 30 communes), an unité urbaine per commune of
UU_MIN_POPULATION or more (the rest: <dép>000), an aire d'attraction per commune of
POLE_MIN_POPULATION or more (at most 999, the most populated) with a couronne within
CROWN_KM of it (the rest: 000, hors attraction).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb

from pipelines.sample.insee_appartenance import (
    BV_SIZE,
    COM_HEADER,
    CROWN_KM,
    DROM_PREFIX,
    POLE_MIN_POPULATION,
    TITLE,
    UU_MIN_POPULATION,
    ZONE_HEADER,
    file_name,
)
from pipelines.sample.national._xlsx import Sheet, write_workbook
from pipelines.sample.national.common import sql_text, vintage_dir, zip_members
from pipelines.sample.national.territory import GEOGRAPHY_VINTAGES, NationalTerritory

SOURCE = "insee_appartenance"
TITLE_ROWS = 5


def write(territory: NationalTerritory, con: duckdb.DuckDBPyConnection, dest: Path) -> list[str]:
    """Write the table of every geography vintage; returns the vintages."""
    for vintage in GEOGRAPHY_VINTAGES:
        con.execute(f"create or replace temp table appartenance as {zonings_query(vintage)}")
        head = [(TITLE.format(year=vintage),), ("Source : Insee (données fictives de l'échantillon national)",), (), (), ()]
        sheets = [
            Sheet("COM", [*head, COM_HEADER], _com_rows(), "CODGEO"),
            Sheet("Zones_supra_communales", [*head, ZONE_HEADER], _zone_rows(), "NIVGEO, CODGEO"),
        ]
        with tempfile.TemporaryDirectory() as work:
            book = Path(work) / f"table-appartenance-geo-communes-{vintage}.xlsx"
            write_workbook(con, book, sheets, creator="Insee", modified=f"{vintage}-03-01T12:00:00Z")
            zip_members(vintage_dir(dest, SOURCE, vintage) / file_name(vintage), {book.name: book})
    return list(GEOGRAPHY_VINTAGES)


def zonings_query(vintage: str) -> str:
    """SQL: one row per commune actuelle of the vintage with its zones (the columns of COM)."""
    prefixes = ", ".join(f"({sql_text(d)}, {sql_text(p)})" for d, p in DROM_PREFIX.items())
    km = "6371 * sqrt(power(radians({b}.lon - {a}.lon) * cos(radians(({a}.lat + {b}.lat) / 2)), 2) + power(radians({b}.lat - {a}.lat), 2))"
    return f"""
        with prefixes(departement, prefix) as (values {prefixes}),
        communes as (
            select c.code, c.libelle, c.departement, c.region, c.arrondissement, c.canton, c.epci,
                   coalesce(c.population, 0) as population, c.lon, c.lat,
                   coalesce(p.prefix, c.departement) as prefix,
                   row_number() over (partition by c.departement order by coalesce(c.population, 0) desc, c.code) as size_rank,
                   count(*) over (partition by c.departement) as communes_in_departement
            from actuelles c left join prefixes p using (departement)
            where c.vintage = '{vintage}'
        ),
        centres as (select * from communes where size_rank <= greatest(1, communes_in_departement // {BV_SIZE})),
        heads as (
            select *, row_number() over (partition by departement order by size_rank) - 1 as head_no
            from centres where size_rank <= case when communes_in_departement < 30 then 1 else 2 end
        ),
        departement_numbers as (select departement, row_number() over (order by departement) as number from (select distinct departement from communes)),
        bassins as (
            select a.code, arg_min(b.code, {km.format(a='a', b='b')}) as bv
            from communes a join centres b using (departement) group by a.code
        ),
        zones as (
            select b.code as centre, arg_min(h.region || lpad(cast((10 + h.head_no + 2 * n.number) % 100 as varchar), 2, '0'), {km.format(a='b', b='h')}) as ze
            from centres b join heads h using (departement) join departement_numbers n on n.departement = h.departement
            group by b.code
        ),
        poles as (
            select code, lon, lat, departement, prefix,
                   row_number() over (order by population desc, code) as pole_no
            from communes where population >= {POLE_MIN_POPULATION}
            qualify pole_no <= 999
        ),
        aires as (
            select a.code, arg_min(p.code, {km.format(a='a', b='p')}) as pole, min({km.format(a='a', b='p')}) as km
            from communes a join poles p using (departement) group by a.code
        ),
        urban as (
            select code, row_number() over (partition by departement order by code) + 400 as uu_no
            from communes where population >= {UU_MIN_POPULATION}
        )
        select
            c.code as CODGEO, c.libelle as LIBGEO, c.departement as DEP, c.region as REG,
            coalesce(c.epci, 'ZZZZZZZZZ') as EPCI, case when c.epci is null then 'ZZ' else 'CC' end as NATURE_EPCI,
            c.arrondissement as ARR, coalesce(nullif(c.canton, ''), c.departement || 'ZZ') as CV, z.ze as ZE2020,
            c.prefix || case when u.uu_no is null then '000' else lpad(cast(u.uu_no % 1000 as varchar), 3, '0') end as UU2020,
            case when u.uu_no is null then '0' else '4' end as TUU2017, case when u.uu_no is null then '0' else '43' end as TDUU2017,
            case
                when p_own.code is not null or a.km <= {CROWN_KM} then
                    case when c.prefix <> c.departement then left(c.prefix, 2) || cast(coalesce(p_own.pole_no, p_near.pole_no) % 10 as varchar)
                         else lpad(cast(coalesce(p_own.pole_no, p_near.pole_no) as varchar), 3, '0') end
                else '000'
            end as AAV2020,
            case when coalesce(p_own.code, p_near.code) is null or (p_own.code is null and a.km > {CROWN_KM}) then '0' else '1' end as TAAV2017,
            case when coalesce(p_own.code, p_near.code) is null or (p_own.code is null and a.km > {CROWN_KM}) then '0' else '11' end as TDAAV2017,
            case when p_own.code is not null then '11' when a.km <= {CROWN_KM} then '20' else '30' end as CATEAAV2020,
            b.bv as BV2022,
            c.population as _population
        from communes c
        join bassins b using (code)
        join zones z on z.centre = b.bv
        left join urban u using (code)
        left join poles p_own on p_own.code = c.code
        left join aires a on a.code = c.code
        left join poles p_near on p_near.code = a.pole
    """


def _com_rows() -> str:
    return "select " + ", ".join(COM_HEADER) + " from appartenance"


def _zone_rows() -> str:
    """One row per zone of each level: its label (the name of its largest commune) and commune count."""
    parts = []
    for level in ("ARR", "CV", "ZE2020", "UU2020", "AAV2020", "BV2022"):
        label = {
            "UU2020": "case when ends_with(code, '000') then 'Communes rurales hors unité urbaine' else libelle end",
            "AAV2020": "case when code = '000' then 'Commune hors attraction des villes' else libelle end",
        }.get(level, "libelle")
        parts.append(f"""
            select '{level}' as NIVGEO, code as CODGEO, {label} as LIBGEO, communes as NB_COM from (
                select {level} as code, arg_max(LIBGEO, _population) as libelle, count(*) as communes
                from appartenance group by {level}
            )""")
    return " union all ".join(parts)
