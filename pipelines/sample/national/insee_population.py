"""INSEE populations légales of the national territory: ensemble.zip for reference years 2022 and 2023.

Laid out as :mod:`pipelines.sample.insee_population` does: ensemble.zip holds
donnees_communes.csv (';', UTF-8, REG;Région;DEP;CODARR;CODCAN;CODCOM;COM;Commune;PMUN;PCAP;PTOT)
and donnees_departements.csv. Both years list the communes of geography 2025 as statistical
files do (Paris, Lyon and Marseille by arrondissement municipal): about 34,700 rows at
scale 1. The numbers are those of the geography each year is in force on (2022: 2025,
2023: 2026); a commune merged on 1 January 2026 gets the share of its commune nouvelle's
population that its own population had in 2025, the commune keeping the code taking the
rounding remainder, so that the parts add up to the whole.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb

from pipelines.sample.insee_population import COMMUNES_HEADER, DEPARTEMENTS_HEADER, IN_FORCE, LISTED_ON
from pipelines.sample.national.common import vintage_dir, zip_members
from pipelines.sample.national.territory import NationalTerritory

SOURCE = "insee_population"


def write(territory: NationalTerritory, con: duckdb.DuckDBPyConnection, dest: Path) -> list[str]:
    """Write ensemble.zip for each reference year; returns the vintages written."""
    for vintage, in_force in IN_FORCE.items():
        populations = legal_populations_query(in_force)
        with tempfile.TemporaryDirectory() as work:
            communes, departements = Path(work) / "donnees_communes.csv", Path(work) / "donnees_departements.csv"
            con.execute(f"copy ({communes_query(populations)}) to '{communes}' (header, delimiter ';')")
            con.execute(f"copy ({departements_query(populations)}) to '{departements}' (header, delimiter ';')")
            zip_members(vintage_dir(dest, SOURCE, vintage) / "ensemble.zip", {p.name: p for p in (communes, departements)})
    return list(IN_FORCE)


def legal_populations_query(in_force: str) -> str:
    """Every listed place (its columns in geography 2025) with pmun and ptot, the populations in force."""
    return f"""
        with listed as (select * from statistical_communes where vintage = '{LISTED_ON}'),
        later as (select code, population, population_totale from statistical_communes where vintage = '{in_force}'),
        shares as (  -- communes absorbed between the two geographies: their share of their commune nouvelle
            select m.com_av as code, m.com_ap as nouvelle, m.com_av = m.com_ap as keeps_code,
                   n.population, n.population_totale,
                   coalesce(l.population / nullif(sum(l.population) over (partition by m.com_ap), 0), 0) as share
            from movements m join listed l on l.code = m.com_av join later n on n.code = m.com_ap
            where m.typecom_ap = 'COM' and m.date_eff > '{LISTED_ON}-01-01' and m.date_eff <= '{in_force}-01-01'
        ),
        rounded as (
            select *, round(share * population) as pmun, round(share * population_totale) as ptot from shares
        ),
        parts as (  -- the commune keeping the code takes the rounding remainder
            select code,
                   if(keeps_code, population - sum(pmun) over nouvelle + pmun, pmun) as pmun,
                   if(keeps_code, population_totale - sum(ptot) over nouvelle + ptot, ptot) as ptot
            from rounded
            window nouvelle as (partition by nouvelle)
        )
        select l.*,
               cast(coalesce(p.pmun, n.population) as bigint) as pmun,
               cast(coalesce(p.ptot, n.population_totale) as bigint) as ptot
        from listed l
        left join parts p on p.code = l.code
        left join later n on n.code = l.code
    """


def communes_query(populations: str) -> str:
    """The rows of donnees_communes.csv, by code, from the legal populations query."""
    columns = {
        "REG": "l.region",
        "Région": "g.nom",
        "DEP": "l.departement",
        "CODARR": "l.arrondissement[length(l.departement) + 1:]",
        "CODCAN": "nullif(l.canton[length(l.departement) + 1:], '')",
        "CODCOM": "l.code[length(l.departement) + 1:]",
        "COM": "l.code",
        "Commune": "l.libelle",
        "PMUN": "l.pmun",
        "PCAP": "l.ptot - l.pmun",
        "PTOT": "l.ptot",
    }
    return f"""
        with legal_populations as ({populations})
        select {', '.join(f'{columns[name]} as "{name}"' for name in COMMUNES_HEADER)}
        from legal_populations l join regions g on g.code = l.region
        order by l.code
    """


def departements_query(populations: str) -> str:
    """The rows of donnees_departements.csv: counts and populations of each département."""
    columns = {
        "REG": "d.region",
        "Région": "g.nom",
        "DEP": "d.code",
        "Département": "d.nom",
        "NBARR": "count(distinct l.arrondissement)",
        "NBCAN": "count(distinct nullif(l.canton, ''))",
        "NBCOM": "count(distinct coalesce(l.parent, l.code))",
        "PMUN": "sum(l.pmun)",
        "PTOT": "sum(l.ptot)",
    }
    return f"""
        with legal_populations as ({populations})
        select {', '.join(f'{columns[name]} as "{name}"' for name in DEPARTEMENTS_HEADER)}
        from departements d join regions g on g.code = d.region join legal_populations l on l.departement = d.code
        group by d.code, d.region, g.nom, d.nom
        order by d.code
    """
