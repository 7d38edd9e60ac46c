"""INSEE census housing of the national territory: base-cc-logement-<year>_csv.zip, 2020 and 2021.

Laid out as :mod:`pipelines.sample.insee_census_housing`: the zip holds base-cc-logement-<year>.CSV
(';', CODGEO then P<yy>_LOG, P<yy>_RP, P<yy>_RSECOCC, P<yy>_LOGVAC, P<yy>_MAISON, P<yy>_APPART,
P<yy>_MEN, P<yy>_PMEN, P<yy>_RP_VOIT1P, P<yy>_RP_VOIT1, P<yy>_RP_VOIT2P; codes and numbers only,
so latin-1 as written) and the list of its variables (latin-1, with accents). Same communes
and census populations as the age base (:mod:`pipelines.sample.national.insee_census_age`):
about 34,700 rows at scale 1, counts with decimals.

Proportions, as in the bundled sample: 97–99.5 % of the people live in households of 1.75–2.0
people in the densest communes (density level 1), 1.85–2.05 in the aged villages, 2.05–2.45
elsewhere; households are main residences (MEN = RP), 70–92 % of the dwellings, the others
30–70 % secondary and the rest vacant; houses are 5–15 % of the dwellings at level 1,
35–65 % at levels 2–3, 60–95 % elsewhere. Households without a car: 35–50 % at level 1,
15–25 % at levels 2–3, 10–16 % at level 4, 4–10 % in the villages, 8–12 points more in the
aged villages; 30–60 % of the households with a car have two or more.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.sample.insee_census_housing import CENSUS_YEARS, VARIABLES
from pipelines.sample.national.common import vintage_dir
from pipelines.sample.national.insee_census_age import census_places, census_population, decimal, write_census_zip
from pipelines.sample.national.territory import NationalTerritory

SOURCE = "insee_census_housing"


def write(territory: NationalTerritory, con: duckdb.DuckDBPyConnection, dest: Path) -> list[str]:
    """Write base-cc-logement-<year>_csv.zip for each census year; returns the years."""
    for year in CENSUS_YEARS:
        yy = year[-2:]
        query = f"""
            select code as CODGEO, {', '.join(f'{decimal(name)} as P{yy}_{name}' for name, _ in VARIABLES)}
            from ({housing(year)}) order by code
        """
        variables = [(f"P{yy}_{name}", f"{label} en {year} (princ)") for name, label in VARIABLES]
        write_census_zip(con, vintage_dir(dest, SOURCE, year), f"base-cc-logement-{year}", query, variables)
    return list(CENSUS_YEARS)


def housing(year: str) -> str:
    """SQL: code and one column per name of VARIABLES for a census year."""

    def draw(name: str) -> str:
        return f"rnd(code, 'census-housing:{year}:{name}')"

    drawn = f"""
        select code, {census_population(year)} * (0.97 + 0.025 * {draw('in-households')}) as pmen,
               case when aged then 1.85 + 0.2 * {draw('size')}
                    when density_level = 1 then 1.75 + 0.25 * {draw('size')}
                    else 2.05 + 0.4 * {draw('size')} end as household_size,
               0.7 + 0.22 * {draw('main')} as main_share,
               0.3 + 0.4 * {draw('secondary')} as secondary_share,  -- of the dwellings that are not main residences
               case when density_level = 1 then 0.05 + 0.1 * {draw('houses')}
                    when density_level <= 3 then 0.35 + 0.3 * {draw('houses')}
                    else 0.6 + 0.35 * {draw('houses')} end as house_share,
               case when density_level = 1 then 0.35 + 0.15 * {draw('cars')}
                    when density_level <= 3 then 0.15 + 0.1 * {draw('cars')}
                    when density_level = 4 then 0.1 + 0.06 * {draw('cars')}
                    else 0.04 + 0.06 * {draw('cars')} end
               + if(aged, 0.08 + 0.04 * {draw('aged-cars')}, 0) as car_free_share,
               0.3 + 0.3 * {draw('two-cars')} as two_cars_share  -- of the households with a car
        from ({census_places()})
    """
    households = f"""
        select *, pmen / household_size as men, pmen / household_size / main_share as log,
               pmen / household_size * (1 - car_free_share) as rp_voit1p
        from ({drawn})
    """
    return f"""
        select code, log, men as rp, (log - men) * secondary_share as rsecocc,
               (log - men) * (1 - secondary_share) as logvac, log * house_share as maison,
               log * (1 - house_share) as appart, men, pmen, rp_voit1p,
               rp_voit1p * (1 - two_cars_share) as rp_voit1, rp_voit1p * two_cars_share as rp_voit2p
        from ({households})
    """
