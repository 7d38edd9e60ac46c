"""INSEE COG files of the national territory: v_commune_<year>.csv and v_mvt_commune_<year>.csv.

For geography 2025 and 2026, v_commune lists every commune (COM), commune déléguée (COMD)
and arrondissement municipal (ARM), about 36,800 rows at scale 1, by code; the déléguées
carry no région, département, collectivity, arrondissement or canton of their own. The
movements file holds the mergers into communes nouvelles up to 1 January of its year
(2017 and 2026 ones: about 4,100 and 5,400 rows at scale 1), newest first: each former
commune to its commune nouvelle and to its commune déléguée. Headers and layout are those
of :func:`pipelines.sample.territory.write_insee_cog` (',', UTF-8, NCC in upper case
without accents).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.sample.national.common import vintage_dir
from pipelines.sample.national.territory import NationalTerritory
from pipelines.sample.territory import ARTICLES, SAMPLE_GEOGRAPHY_VINTAGES, V_COMMUNE_HEADER, V_MVT_COMMUNE_HEADER

SOURCE = "insee_cog"


def write(territory: NationalTerritory, con: duckdb.DuckDBPyConnection, dest: Path) -> list[str]:
    """Write both files of each geography vintage; returns the vintages written."""
    for vintage in SAMPLE_GEOGRAPHY_VINTAGES:
        folder = vintage_dir(dest, SOURCE, vintage)
        con.execute(f"copy ({v_commune_query(vintage)}) to '{folder / f'v_commune_{vintage}.csv'}' (header)")
        con.execute(f"copy ({v_mvt_commune_query(vintage)}) to '{folder / f'v_mvt_commune_{vintage}.csv'}' (header)")
    return list(SAMPLE_GEOGRAPHY_VINTAGES)


def v_commune_query(vintage: str) -> str:
    """The rows of v_commune_<vintage>.csv, by code (a commune before its déléguée of the same code)."""
    attached = "type = 'commune-deleguee'"
    columns = {
        "TYPECOM": "case type when 'commune-actuelle' then 'COM' when 'commune-deleguee' then 'COMD' else 'ARM' end",
        "COM": "code",
        "REG": f"if({attached}, null, region)",
        "DEP": f"if({attached}, null, departement)",
        "CTCD": f"if({attached}, null, ctcd)",
        "ARR": f"if({attached}, null, arrondissement)",
        "TNCC": "tncc",
        "NCC": ncc("name"),
        "NCCENR": "name",
        "LIBELLE": "libelle",
        "CAN": "if(type = 'commune-actuelle', canton, null)",
        "COMPARENT": "parent",
    }
    return f"""
        select {', '.join(f'{columns[name]} as {name}' for name in V_COMMUNE_HEADER)}
        from communes where vintage = '{vintage}' order by code, type
    """


def v_mvt_commune_query(vintage: str) -> str:
    """The movements up to 1 January of the vintage, newest first."""
    columns = {"MOD": "mod", "DATE_EFF": "date_eff"}
    for side in ("av", "ap"):
        suffix = side.upper()
        columns |= {
            f"TYPECOM_{suffix}": f"typecom_{side}",
            f"COM_{suffix}": f"com_{side}",
            f"TNCC_{suffix}": f"tncc_{side}",
            f"NCC_{suffix}": ncc(f"name_{side}"),
            f"NCCENR_{suffix}": f"name_{side}",
            f"LIBELLE_{suffix}": f"{article(f'tncc_{side}')} || name_{side}",
        }
    return f"""
        select {', '.join(f'{columns[name]} as {name}' for name in V_MVT_COMMUNE_HEADER)}
        from movements where date_eff <= '{vintage}-01-01'
        order by date_eff desc, com_av, typecom_ap
    """


def ncc(name: str) -> str:
    """SQL for the INSEE NCC form of a name: upper case, no accents, hyphens and apostrophes as spaces."""
    ligatures = f"replace(replace(replace(replace({name}, 'Œ', 'OE'), 'œ', 'oe'), 'Æ', 'AE'), 'æ', 'ae')"
    return f"replace(replace(upper(strip_accents({ligatures})), '-', ' '), '''', ' ')"


def article(tncc: str) -> str:
    """SQL for the article written before a name of this TNCC."""
    quoted = {value: text.replace("'", "''") for value, text in ARTICLES.items() if text}
    cases = " ".join(f"when {value} then '{text}'" for value, text in quoted.items())
    return f"case {tncc} {cases} else '' end"
