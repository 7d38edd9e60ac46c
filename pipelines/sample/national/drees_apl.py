"""DREES APL workbook for the national territory.

One workbook, apl_medecins_generalistes.xlsx, in the layout of :mod:`pipelines.sample.drees_apl`
(sheets Paramètres, APL 2022 and APL 2023; in each APL sheet titles and notes in rows 1–8,
the header in row 9, units in row 10, then one row per commune), written under both APL
years. The communes are those of geography 2025 as DREES lists them: Paris, Lyon and
Marseille by arrondissement municipal, Mayotte left out (about 34,700 rows at scale 1).

The 2023 APL is drawn log-normally (spread 28 %) around a median that falls with
sparseness, from 3.9 consultations per standardised inhabitant in grands centres urbains
to 2.4 in rural à habitat très dispersé: about a third of the communes, mostly sparse
villages, are below 2.5, where about an eighth of the people live. The 2022 APL is within
a few per cent of it. One commune in 300 has no published value (empty APL cells). GPs of
65 or less give 72–95 % of the APL, those of 62 and 60 or less 93 % and 87 % of that. The
total population of year N − 2 comes from the commune's total population (growing about
0.3 % a year); the standardised one weighs it by age, 1.00–1.15 in villages (older
people), 0.88–1.02 elsewhere.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from pipelines.sample.drees_apl import (
    APL_YEARS,
    FILE_NAME,
    FIXED_TIME,
    GEOGRAPHY_VINTAGE,
    PARAMETERS,
    write_apl_sheet,
)
from pipelines.sample.national._xlsx import Sheet, write_workbook
from pipelines.sample.national.common import vintage_dir
from pipelines.sample.national.territory import NationalTerritory
from pipelines.sample.territory import SAMPLE_NOTICE

SOURCE = "drees_apl"
# Median APL by density level (1 grands centres urbains … 7 rural à habitat très dispersé).
MEDIAN_APL = {1: 3.9, 2: 3.8, 3: 3.6, 4: 3.3, 5: 3.1, 6: 2.8, 7: 2.4}
APL_SPREAD = 0.28  # standard deviation of the APL's logarithm
UNPUBLISHED_SHARE = 1 / 300
YEARLY_GROWTH = 0.003
NOT_COVERED = "976"  # Mayotte


def write(territory: NationalTerritory, con: duckdb.DuckDBPyConnection, dest: Path) -> list[str]:
    """Write the workbook under every APL year (the same file); returns the years written."""
    sheets = [Sheet("Paramètres", PARAMETERS)]
    for year in APL_YEARS:
        sheets.append(Sheet(f"APL {year}", _title_rows(con, year), apl_query(year), "code"))
    first, *others = [vintage_dir(dest, SOURCE, year) / FILE_NAME for year in APL_YEARS]
    modified = f"{FIXED_TIME.isoformat()}Z"
    write_workbook(con, first, sheets, creator="DREES", modified=modified, description=SAMPLE_NOTICE)
    for path in others:
        shutil.copyfile(first, path)
    return list(APL_YEARS)


def apl_query(year: str) -> str:
    """The rows of the sheet `APL <year>`: code, name, APL for all GPs and those of 65, 62 and
    60 or less, standardised and total population of year - 2."""
    medians = " ".join(f"when {level} then {median}" for level, median in MEDIAN_APL.items())
    years_back = int(APL_YEARS[-1]) - int(year)
    # Earlier years move a little around the last one.
    change = "1" if year == APL_YEARS[-1] else f"(1 + 0.03 * rnd_normal(code, 'apl-{year}'))"
    return f"""
        with drawn as (
            select
                code, libelle,
                exp(ln(case density_level {medians} end) + {APL_SPREAD} * rnd_normal(code, 'apl')) * {change} as apl,
                0.72 + 0.23 * rnd(code, 'apl-under-65') as under_65_share,
                rnd(code, 'apl-unpublished') < {UNPUBLISHED_SHARE} as unpublished,
                round(population_totale / power(1 + {YEARLY_GROWTH} + 0.008 * rnd_normal(code, 'apl-growth'),
                                                {years_back})) as total,
                case when density_level >= 5 then 1.0 + 0.15 * rnd(code, 'apl-age')
                     else 0.88 + 0.14 * rnd(code, 'apl-age') end as age_weight
            from statistical_communes
            where vintage = '{GEOGRAPHY_VINTAGE}' and departement <> '{NOT_COVERED}'
        ), published as (
            select code, libelle, total, age_weight,
                   if(unpublished, null, round(apl, 3)) as apl,
                   if(unpublished, null, round(apl * under_65_share, 3)) as under_65
            from drawn
        )
        select
            code, libelle as name, apl, under_65,
            round(under_65 * 0.93, 3) as under_62, round(under_65 * 0.87, 3) as under_60,
            round(total * age_weight, 3) as standardised, cast(total as bigint) as total
        from published
    """


def _title_rows(con: duckdb.DuckDBPyConnection, year: str) -> list[tuple]:
    """Rows 1–10 of the sample's sheet (titles, the reading note about the first commune with an
    APL, the header naming the population year, the units)."""
    first = con.execute(f"select * from ({apl_query(year)}) where apl is not null order by code limit 1").fetchone()
    code, name, apl, under_65, _, _, standardised, total = first
    rows: list[tuple] = []
    write_apl_sheet(rows, year, [(code, name, apl, under_65, standardised, total)])
    return [tuple(row) for row in rows[:-1]]  # the sample's rows before its first commune
