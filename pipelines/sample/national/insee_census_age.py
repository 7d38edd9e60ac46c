"""INSEE census by age band of the national territory: base-cc-evol-struct-pop-<year>_csv.zip, 2020 and 2021.

Laid out as :mod:`pipelines.sample.insee_census_age`: the zip holds
base-cc-evol-struct-pop-<year>.CSV (';', CODGEO, P<yy>_POP, the seven age bands P<yy>_POP0014
… P<yy>_POP90P, P<yy>_POPH, P<yy>_POPF, C<yy>_POP15P, then the population and bands six
years earlier) and the list of its variables (latin-1). The data file holds codes and numbers
only, so the bytes DuckDB writes are latin-1 as they are. One row per commune of geography
2025 as statistical files list them (Paris, Lyon and Marseille by arrondissement municipal):
about 34,700 rows at scale 1. Band counts are weighted estimates with decimals, summing to
the population.

Proportions, as in the bundled sample: the census population is the 2025 legal population,
drifting back by -0.4 to +1.2 % a year before 2021; people aged 75 and over are 5–8.5 % of
the densest communes (density level 1), 7–11 % of levels 2–4 and 9–14.5 % of the villages,
and 19.5–27 % of the aged villages (a third of the villages under 400 inhabitants, which also
have fewer children); 90 and over are 12–20 % of the 75 and over; men 47–50 %.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb

from pipelines.sample.insee_census_age import (
    AGE_BANDS,
    AGED_VILLAGE_MAX,
    CENSUS_YEARS,
    GEOGRAPHY,
    variable_label,
    meta_bytes,
)
from pipelines.sample.national.common import vintage_dir, zip_members
from pipelines.sample.national.territory import NationalTerritory

SOURCE = "insee_census_age"
AGED_VILLAGE_SHARE = 0.35  # of the villages under AGED_VILLAGE_MAX inhabitants


def write(territory: NationalTerritory, con: duckdb.DuckDBPyConnection, dest: Path) -> list[str]:
    """Write base-cc-evol-struct-pop-<year>_csv.zip for each census year; returns the years."""
    for year in CENSUS_YEARS:
        columns = age_columns(year)
        query = f"""
            select {', '.join(f'{expression} as {name}' for name, expression in columns.items())}
            from ({age_structure(year)}) now join ({age_structure(str(int(year) - 6))}) before using (code)
            order by code
        """
        variables = [(name, variable_label(name)) for name in list(columns)[1:]]
        write_census_zip(con, vintage_dir(dest, SOURCE, year), f"base-cc-evol-struct-pop-{year}", query, variables)
    return list(CENSUS_YEARS)


def census_places() -> str:
    """SQL: the communes of the census files, their density level, population and whether they are aged villages."""
    return f"""
        select code, density_level, population,
               type = 'commune-actuelle' and population < {AGED_VILLAGE_MAX}
               and rnd(code, 'census-aged') < {AGED_VILLAGE_SHARE} as aged
        from statistical_communes where vintage = '{GEOGRAPHY}'
    """


def census_population(year: str) -> str:
    """SQL: the population counted by the census of that year (the 2025 legal population for the last one)."""
    drift = "(-0.004 + 0.016 * rnd(code, 'census-drift'))"
    return f"round(population * power(1 - {drift}, {int(CENSUS_YEARS[-1]) - int(year)}))"


def decimal(value: str) -> str:
    """SQL: a census count as INSEE writes it, plain decimals without trailing zeros ('152.398762', '12')."""
    return f"rtrim(rtrim(printf('%.6f', {value}), '0'), '.')"


def age_structure(year: str) -> str:
    """SQL: code, pop (the census population of that year), share_0014 and pop_<band> for every band."""

    def draw(name: str) -> str:
        return f"rnd(code, 'census-ages:{year}:{name}')"

    shares = f"""
        select code, {census_population(year)} as pop,
               case when aged then 0.195 + 0.075 * {draw('75')}
                    when density_level = 1 then 0.05 + 0.035 * {draw('75')}
                    when density_level <= 4 then 0.07 + 0.04 * {draw('75')}
                    else 0.09 + 0.055 * {draw('75')} end as share_75,
               0.12 + 0.08 * {draw('90')} as part_90,  -- of the people aged 75 and over
               if(aged, 0.08 + 0.04 * {draw('0014')}, 0.15 + 0.05 * {draw('0014')}) as w_0014,
               0.13 + 0.07 * {draw('1529')} as w_1529,
               0.16 + 0.05 * {draw('3044')} as w_3044,
               0.18 + 0.04 * {draw('4559')} as w_4559,
               if(aged, 0.2 + 0.06 * {draw('6074')}, 0.15 + 0.05 * {draw('6074')}) as w_6074
        from ({census_places()})
    """
    under_75 = AGE_BANDS[:-2]
    total = " + ".join(f"w_{band}" for band in under_75)
    bands = ", ".join(f"pop * w_{band} * (1 - share_75) / ({total}) as pop_{band}" for band in under_75)
    return f"""
        select code, pop, w_0014 * (1 - share_75) / ({total}) as share_0014, {bands},
               pop * share_75 * (1 - part_90) as pop_7589, pop * share_75 * part_90 as pop_90P
        from ({shares})
    """


def age_columns(year: str) -> dict[str, str]:
    """Column name → SQL over the census year (now) and six years before (before), in the file's order."""
    yy, earlier = year[-2:], str(int(year) - 6)[-2:]
    men = f"(0.47 + 0.03 * rnd(code, 'census-men:{year}'))"
    return {
        "CODGEO": "code",
        f"P{yy}_POP": "cast(now.pop as bigint)",
        **{f"P{yy}_POP{band}": decimal(f"now.pop_{band}") for band in AGE_BANDS},
        f"P{yy}_POPH": decimal(f"now.pop * {men}"),
        f"P{yy}_POPF": decimal(f"now.pop * (1 - {men})"),
        f"C{yy}_POP15P": decimal("now.pop * (1 - now.share_0014)"),
        f"P{earlier}_POP": "cast(before.pop as bigint)",
        **{f"P{earlier}_POP{band}": decimal(f"before.pop_{band}") for band in AGE_BANDS},
    }


def write_census_zip(
    con: duckdb.DuckDBPyConnection, folder: Path, stem: str, query: str, variables: list[tuple[str, str]]
) -> None:
    """<stem>_csv.zip in folder: <stem>.CSV (';', the rows of query) and meta_<stem>.CSV (the variables)."""
    with tempfile.TemporaryDirectory() as work:
        data = Path(work) / f"{stem}.CSV"
        con.execute(f"copy ({query}) to '{data}' (header, delimiter ';')")
        zip_members(folder / f"{stem}_csv.zip", {data.name: data, f"meta_{stem}.CSV": meta_bytes(variables)})
