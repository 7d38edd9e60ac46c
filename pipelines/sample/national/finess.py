"""FINESS's geolocated establishments stock and equipment extraction for the national territory.

The files and layouts of :mod:`pipelines.sample.finess` (vintage 2026), on the communes of
geography 2026; Paris, Lyon and Marseille place their establishments in a seeded
arrondissement, as FINESS does. At scale 1 about 100,000 establishments, as many as the
real stock, spread by population:

* hospitals, about 1,300: CHR/CHU sites (101), one per 50,000 inhabitants in communes of
  100,000 or more and one in every other chef-lieu of région; a centre hospitalier (355) in
  every commune of 12,000 inhabitants or more (one more per 100,000) and in every other
  préfecture; a hôpital de proximité (106) in 6 % of the bourgs of 2,000 to 10,000;
* about 7,500 EHPAD (500): in communes of 5,000 inhabitants or more one, and one more per
  12,000 inhabitants, and in 31 % of the villages of 800 to 5,000; about 2,200 résidences
  autonomie (202): in 55 % of the towns of 5,000 or more, one more per 30,000 inhabitants,
  and in 14 % of the villages of 2,000 to 5,000;
* the others, one per 740 inhabitants drawn among the categories of :data:`OTHERS` by
  weight (pharmacies a quarter of them). Only their total follows the real stock: its many
  other social and medico-social categories are stood in for by these.

1.2 % of the establishments have no geolocation line. The equipment extraction lists the
EHPAD (permanent accommodation, temporary accommodation for half of them, day care for
Alzheimer patients for half of those in communes of 5,000 or more) and the résidences
autonomie (permanent accommodation): about 15,500 lines.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from pipelines.sample.finess import (
    ALZHEIMER,
    AUTONOMOUS,
    CATEGORIES,
    DAY_CARE,
    DEPENDENT,
    ELDERLY,
    EQUIPMENT_FILE,
    EQUIPMENT_HEADER,
    EQUIPMENT_POSITIONS,
    EQUIPMENT_WIDTH,
    FINESS_DEPARTEMENTS,
    GEOLOCATION_DATE,
    MAYOTTE_PREFIX,
    PERMANENT,
    PROJECTION_NAMES,
    STOCK_FILE,
    STOCK_HEADER,
    VINTAGE,
    Category,
)
from pipelines.sample.national.common import copy_lines, sql_text, vintage_dir
from pipelines.sample.national.territory import NationalTerritory
from pipelines.sources.readers.finess import STRUCTURE_FIELDS

SOURCE = "finess"
TEMPORARY_STAY = ("657", "Accueil temporaire pour Personnes Âgées")
UNGEOLOCATED_SHARE = 0.012
PEOPLE_PER_OTHER = 740
# Categories of real lines of the stock, standing in for the many others, with their weight.
OTHERS = {
    "pharmacy": (CATEGORIES["pharmacy"], 0.24),
    "laboratory": (CATEGORIES["laboratory"], 0.05),
    "clinic": (CATEGORIES["clinic"], 0.012),
    "pmi": (Category(
        "223", "Protection Maternelle et Infantile (P.M.I.)", "2202",
        "Etablissements de PMI et de Planification Familiale", "", ("01", "Etablissement Tarif Libre"), ("", ""),
        "PMI", "CENTRE DE PMI",
    ), 0.12),
    "cmpp": (Category(
        "189", "Centre Médico-Psycho-Pédagogique (C.M.P.P.)", "4106",
        "Services à Domicile ou Ambulatoires pour Handicapés", "", ("57", "DGS ARS & hébergement PCD - sous CPOM"),
        ("", ""), "CMPP", "CENTRE MEDICO PSYCHO PEDAGOGIQUE",
    ), 0.25),
    "dialysis": (Category(
        "146", "Structure d'Alternative à la dialyse en centre", "1203", "Dialyse Ambulatoire", "",
        ("07", "ARS établissements de santé non financés dotation globale"), ("0", "Non concerné"),
        "UAD", "UNITE AUTODIALYSE",
    ), 0.02),
    "placement": (Category(
        "241", "Etablissement de Placement", "4502", "Etab.et Services du Ministère de la Justice pour Mineurs", "",
        ("99", "Indéterminé"), ("", ""), "CEF", "CENTRE EDUCATIF",
    ), 0.08),
    "lieu_de_vie": (Category(
        "462", "Lieux de Vie et d'Accueil", "4605", "Etablissements et services multi-clientèles", "",
        ("08", "Président du Conseil Départemental"), ("", ""), "LIEU DE VIE", "LIEU DE VIE ET D'ACCUEIL",
    ), 0.06),
    "mandataire": (Category(
        "340", "Service mandataire judiciaire à la protection des majeurs", "4608", "Protection des majeurs", "",
        ("99", "Indéterminé"), ("", ""), "SMJPM", "SERVICE MANDATAIRE JUDICIAIRE",
    ), 0.08),
    "authorised_entity": (Category(
        "699", "Entité Ayant Autorisation", "1205", "Autres Etablissements Relevant de la Loi Hospitalière", "",
        ("99", "Indéterminé"), ("0", "Non concerné"), "ENTITE", "ENTITE AYANT AUTORISATION",
    ), 0.088),
}  # fmt: skip
FIXED_KINDS = ("chr", "ch", "proximity", "ehpad", "residence")
# How many establishments of each kind a commune has; `other` ones take a category of OTHERS.
COUNTS = {
    "chr": "if(population >= 100000, population // 50000, cast(is_region_chef_lieu as integer))",
    "ch": "if(population >= 12000, 1 + population // 100000, cast(is_prefecture as integer))",
    "proximity": "cast(population between 2000 and 9999 and rnd(code, 'finess-proximity') < 0.06 as integer)",
    "ehpad": "if(population >= 5000, 1 + population // 12000, "
             "cast(population >= 800 and rnd(code, 'finess-ehpad') < 0.31 as integer))",
    "residence": "if(population >= 5000, cast(rnd(code, 'finess-residence') < 0.55 as integer) + population // 30000, "
                 "cast(population >= 2000 and rnd(code, 'finess-residence') < 0.14 as integer))",
    "other": f"cast(floor(population / {PEOPLE_PER_OTHER}.0 + rnd(code, 'finess-other')) as integer)",
}  # fmt: skip
# The equipementsocial lines: discipline, activity, clientèle, which establishments have one, their places.
EQUIPMENT_LINES = (
    (ELDERLY, PERMANENT, DEPENDENT, "kind = 'ehpad'", "40 + 5 * rnd_int(nofinesset, 'finess-places', 15)"),
    (TEMPORARY_STAY, PERMANENT, DEPENDENT, "kind = 'ehpad' and rnd(nofinesset, 'finess-temporary') < 0.5",
     "1 + rnd_int(nofinesset, 'finess-temporary-places', 10)"),
    (ELDERLY, DAY_CARE, ALZHEIMER, "kind = 'ehpad' and population >= 5000 and rnd(nofinesset, 'finess-day-care') < 0.5",
     "6 + rnd_int(nofinesset, 'finess-day-care-places', 7)"),
    (ELDERLY, PERMANENT, AUTONOMOUS, "kind = 'residence'", "20 + 2 * rnd_int(nofinesset, 'finess-places', 21)"),
)  # fmt: skip
# The columns of finess_establishments that are fields of a structureet line (the others are left empty).
ESTABLISHMENT_COLUMNS = (
    "nofinesset", "nofinessej", "rs", "rslongue", "numvoie", "typvoie", "voie", "commune", "departement",
    "libdepartement", "ligneacheminement", "categetab", "libcategetab", "categagretab", "libcategagretab", "siret",
    "codeape", "codemft", "libmft", "codesph", "libsph", "dateouv", "dateautor", "datemaj",
)  # fmt: skip


def write(territory: NationalTerritory, con: duckdb.DuckDBPyConnection, dest: Path) -> list[str]:
    """Write the stock and the equipment extraction for 2026; returns ["2026"]."""
    folder = vintage_dir(dest, SOURCE, VINTAGE)
    categories = category_table()  # noqa: F841 - read by DuckDB below
    con.execute("create or replace temp table finess_categories as select * from categories")
    con.execute(f"create or replace temp table finess_establishments as {establishments_query()}")
    copy_lines(con, stock_lines_query(), folder / STOCK_FILE)
    copy_lines(con, equipment_lines_query(), folder / EQUIPMENT_FILE)
    con.execute("drop table finess_establishments; drop table finess_categories")
    return [VINTAGE]


def category_table() -> pl.DataFrame:
    """One row per kind: its category's fields and, for the others, the slice [lower, upper) of [0, 1)
    their weight takes."""
    total = sum(weight for _, weight in OTHERS.values())
    kinds, bound = [(kind, CATEGORIES[kind], None, None) for kind in FIXED_KINDS], 0.0
    for kind, (category, weight) in OTHERS.items():
        kinds.append((kind, category, bound / total, (bound + weight) / total))
        bound += weight
    rows = [
        {
            "kind": kind, "categetab": c.code, "libcategetab": c.label, "categagretab": c.group,
            "libcategagretab": c.group_label, "codeape": c.ape, "codemft": c.mft[0], "libmft": c.mft[1],
            "codesph": c.sph[0], "libsph": c.sph[1], "short": c.short, "long": c.long, "lower": lower, "upper": upper,
        }
        for kind, c, lower, upper in kinds
    ]  # fmt: skip
    return pl.DataFrame(rows, schema_overrides={"lower": pl.Float64, "upper": pl.Float64})


def establishments_query() -> str:
    """One row per establishment: its structure fields, kind, commune population and point (lon null:
    no geolocation line)."""
    counts = " ".join(f"when '{kind}' then {sql}" for kind, sql in COUNTS.items())
    planned = ", ".join(f"('{kind}')" for kind in COUNTS)
    overseas = " ".join(f"when '{insee}' then '{finess}'" for insee, finess in FINESS_DEPARTEMENTS.items())
    date = "strftime(make_date({year}, 1 + rnd_int(key, '{salt}-m', 12), 1 + rnd_int(key, '{salt}-d', 28)), '%Y-%m-%d')"
    opened = date.format(year="1950 + rnd_int(key, 'finess-opened', 71)", salt="finess-opened")
    updated = date.format(year="2015 + rnd_int(key, 'finess-updated', 11)", salt="finess-updated")
    upper_name = "upper(strip_accents(replace(replace({}, '-', ' '), '''', ' ')))"
    return f"""
        with cities as (
            select parent as code, list(code order by code) as arrondissements
            from communes where vintage = '{VINTAGE}' and type = 'arrondissement-municipal'
            group by parent
        ), geography as (
            select a.*, c.arrondissements, {upper_name.format('a.name')} as upper_name,
                a.code in (select chef_lieu from regions) as is_region_chef_lieu,
                a.code in (select chef_lieu from departements) as is_prefecture,
                {upper_name.format('d.nom')} as departement_name
            from actuelles as a
            left join cities as c using (code)
            join departements as d on d.code = a.departement
            where a.vintage = '{VINTAGE}'
        ), planned as (
            select g.*, k.planned, case k.planned {counts} end as n
            from geography as g cross join (values {planned}) as k(planned)
        ), slots as (
            select p.*, code || '-' || planned || '-' || slot as key
            from planned as p, unnest(range(n)) as t(slot)
        ), placed as (
            select s.*, coalesce(o.kind, s.planned) as kind,
                coalesce(arrondissements[1 + rnd_int(key, 'finess-arrondissement', len(arrondissements))], code)
                    as site,
                if(population >= 50000, 0.04, 0.006) as spread,
                rnd(key, 'finess-geolocation') >= {UNGEOLOCATED_SHARE} as located
            from slots as s
            left join finess_categories as o
                on s.planned = 'other'
                and rnd(key, 'finess-category') >= o.lower and rnd(key, 'finess-category') < o.upper
        ), numbered as (
            select p.*, f.* exclude (kind),
                case when departement = '976' then '{MAYOTTE_PREFIX}'
                     when length(departement) = 3 then '970' || right(departement, 1)
                     else departement end as prefix,
                cast(if(length(departement) = 3, 5, 7) as integer) as width,
                row_number() over (partition by departement order by site, key) as serial
            from placed as p join finess_categories as f using (kind)
        )
        select
            prefix || lpad(cast(serial as varchar), width, '0') as nofinesset,
            prefix || lpad(cast(serial + 5 * pow(10, width - 1) as bigint)::varchar, width, '0') as nofinessej,
            left(short || ' ' || upper_name, 38) as rs,
            left(long || ' ' || upper_name, 60) as rslongue,
            cast(1 + rnd_int(key, 'finess-number', 120) as varchar) as numvoie,
            ['R', 'AV', 'PL', 'BD'][1 + rnd_int(key, 'finess-street-type', 4)] as typvoie,
            ['DE LA MAIRIE', 'DU MARCHE', 'DES ECOLES', 'DE LA GARE'][1 + rnd_int(key, 'finess-street', 4)] as voie,
            right(site, 3) as commune,
            case departement {overseas} else departement end as departement,
            departement_name as libdepartement,
            postal_code || ' ' || upper_name as ligneacheminement,
            categetab, libcategetab, categagretab, libcategagretab,
            lpad(cast(rnd_int(key, 'finess-siret-a', 10000000) as varchar), 7, '0')
                || lpad(cast(rnd_int(key, 'finess-siret-b', 10000000) as varchar), 7, '0') as siret,
            codeape, codemft, libmft, codesph, libsph,
            {opened} as dateouv, {opened} as dateautor, {updated} as datemaj,
            kind, population, epsg,
            if(located, lon + (rnd(key, 'finess-lon') - 0.5) * spread, null) as lon,
            if(located, lat + (rnd(key, 'finess-lat') - 0.5) * spread * 0.75, null) as lat
        from numbered
    """


def stock_lines_query() -> str:
    """The stock's lines in order: the header, the structureet lines, the geolocalisation lines."""
    structure = " || ';' || ".join(
        f"coalesce({name}, '')" if name in ESTABLISHMENT_COLUMNS else "''" for name in STRUCTURE_FIELDS
    )
    projections = " ".join(f"when {epsg} then {sql_text(name)}" for epsg, name in PROJECTION_NAMES.items())
    return f"""
        select line from (
            select 0 as part, '' as id, {sql_text(STOCK_HEADER)} as line
            union all
            select 1, nofinesset, 'structureet;' || {structure} from finess_establishments
            union all
            select 2, nofinesset,
                'geolocalisation;' || nofinesset || ';' || printf('%.1f', proj_x(lon, lat, epsg)) || ';'
                || printf('%.1f', proj_y(lon, lat, epsg)) || ';1,ATLASANTE,96,BAN,' || case epsg {projections} end
                || ';{GEOLOCATION_DATE}'
            from finess_establishments where lon is not null
        ) order by part, id
    """


def equipment_lines_query() -> str:
    """The equipment extraction's lines: the header, a structureet line per EHPAD or résidence, their equipment."""
    selects = []
    for number, (discipline, activity, clientele, where, places) in enumerate(EQUIPMENT_LINES, start=1):
        values = {
            "nofinesset": "nofinesset", "de": sql_text(discipline[0]), "libde": sql_text(discipline[1]),
            "ta": sql_text(activity[0]), "libta": sql_text(activity[1]), "client": sql_text(clientele[0]),
            "libclient": sql_text(clientele[1]), "sourceinfo": "'S'", "capinstot": f"cast({places} as varchar)",
            "indsupinst": "'N'", "datederinst": "dateouv", "datepremautor": "dateautor",
            "capautot": f"cast({places} as varchar)", "indsupaut": "'N'", "dateautor": "dateautor",
            "datemajaut": "datemaj", "datemajinst": "datemaj",
        }  # fmt: skip
        by_position = {position: values[field] for field, position in EQUIPMENT_POSITIONS.items()}
        fields = " || ';' || ".join(by_position.get(i, "''") for i in range(1, EQUIPMENT_WIDTH))
        selects.append(
            f"select 2, nofinesset, {number}, 'equipementsocial;' || {fields} from finess_establishments where {where}"
        )
    return f"""
        select line from (
            select 0 as part, '' as id, 0 as number, {sql_text(EQUIPMENT_HEADER)} as line
            union all
            select 1, nofinesset, 0, 'structureet;' || nofinesset || ';' || nofinessej
            from finess_establishments where kind in ('ehpad', 'residence')
            union all
            {" union all ".join(selects)}
        ) order by part, id, number
    """
