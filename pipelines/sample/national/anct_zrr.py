"""The ZRR workbook (diffusion-zonages-zrr-cog2021.xls) for the national territory.

The layout of :mod:`pipelines.sample.anct_zrr`, written by :mod:`pipelines.sample._xls` (about 12 MB): sheets
"Classement ZRR (COG 2021)" and "Classement ZRR (COG 2017)" (title rows, the French
header, the header of codes, one row per commune, each sheet with its own wording of the
labels), Documentation and Métadonnées. As in the sample, the communes actuelles of
geography 2025 stand in for those of both COG (about 34,700 rows a sheet at scale 1, under
the format's 65,536 rows).

The classification is decided for whole EPCI, ranked from the most rural (highest mean
density level): the communes of the most rural EPCI, holding :data:`ZRR_SHARE` of the
communes, are classified ("C"), their urban centres (levels 1 and 2) excepted. Communes
nouvelles of 2017 in the next EPCI (the following :data:`PARTIAL_BAND` of the communes) are
partly classified ("P"), and so are the Hauts of La Réunion (level 4 or more in 974). Among
the classified communes, 15 % only keep the benefit of 2017 ("A") and 15 % of the very
sparse villages are mountain communes keeping it ("M"). :func:`zrr_query` is shared with
the FRR list.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.sample.anct_zrr import (
    CODE_HEADER,
    DETAIL_LABELS,
    DETAIL_LABELS_2017,
    DOCUMENTATION,
    FILE_NAME,
    FRENCH_HEADER,
    GEOGRAPHY,
    METADATA,
    SIMPLE_LABELS,
    SIMPLE_LABELS_2017,
    TITLE_LINES,
    TITLE_LINES_2017,
    VINTAGE,
)
from pipelines.sample._xls import write_workbook
from pipelines.sample.national.common import vintage_dir
from pipelines.sample.national.territory import NationalTerritory

SOURCE = "anct_zrr"
ZRR_SHARE = 0.45  # of the communes, in the most rural EPCI
PARTIAL_BAND = 0.15  # of the communes, in the EPCI just less rural: their communes nouvelles are partly classified
ONLY_BENEFIT_SHARE = 0.15  # of the classified communes: "A"
MOUNTAIN_SHARE = 0.15  # of the classified very sparse villages (level 7): "M"
# Each sheet: its title lines, its simple and detailed labels.
SHEETS = {
    VINTAGE: (TITLE_LINES, SIMPLE_LABELS, DETAIL_LABELS),
    "2017": (TITLE_LINES_2017, SIMPLE_LABELS_2017, DETAIL_LABELS_2017),
}


def write(territory: NationalTerritory, con: duckdb.DuckDBPyConnection, dest: Path) -> list[str]:
    """Write the workbook with the 2021 and 2017 sheets; returns ["2021"]."""
    sheets = [(f"Classement ZRR (COG {cog})", classification_rows(con, cog)) for cog in SHEETS]
    sheets += [("Documentation", DOCUMENTATION), ("Métadonnées", METADATA)]
    write_workbook(vintage_dir(dest, SOURCE, VINTAGE) / FILE_NAME, sheets)
    return [VINTAGE]


def classification_rows(con: duckdb.DuckDBPyConnection, cog: str) -> list[tuple[str, ...]]:
    """The rows of one classification sheet: title rows, both headers, then the communes by code."""
    titles, simple, detail = SHEETS[cog]
    communes = con.execute(
        f"""
        select code, libelle, {_label("status", simple)}, {_label("modality", detail)}
        from ({zrr_query()}) order by code
        """
    ).fetchall()
    return [(title, "", "", "") for title in titles] + [FRENCH_HEADER, CODE_HEADER] + communes


def zrr_query() -> str:
    """Every commune of geography 2025: code, libelle, departement, density_level, epci,
    nouvelle (a commune nouvelle of 2017), status (C, P, NC) and modality (C, A, M, P, NC)."""
    return f"""
        with ranked as ({communes_by_rurality("zrr", 0.0)}),
        classed as (
            select *,
                case
                    when departement = '974' and density_level >= 4 then 'P'
                    when more_rural < {ZRR_SHARE} and density_level > 2 then 'C'
                    when nouvelle and more_rural < {ZRR_SHARE + PARTIAL_BAND} then 'P'
                    else 'NC'
                end as status
            from ranked
        )
        select code, libelle, departement, density_level, epci, nouvelle, status,
            case
                when status <> 'C' then status
                when rnd(code, 'zrr-modality') < {ONLY_BENEFIT_SHARE} then 'A'
                when density_level = 7 and rnd(code, 'zrr-mountain') < {MOUNTAIN_SHARE} then 'M'
                else 'C'
            end as modality
        from classed
    """


def communes_by_rurality(salt: str, noise: float) -> str:
    """The communes actuelles of geography 2025 with `more_rural`, the share of all communes that
    lie in EPCI more rural than theirs: EPCI ranked by mean density level (plus a normal
    noise of standard deviation `noise`, drawn per EPCI with `salt`), then by code."""
    return f"""
        with geography as (
            select *, code in (select parent from communes where vintage = '{GEOGRAPHY}'
                               and type = 'commune-deleguee') as nouvelle
            from actuelles where vintage = '{GEOGRAPHY}'
        ), epcis as (
            select epci, count(*) as members, avg(density_level) + {noise} * rnd_normal(epci, '{salt}') as rurality
            from geography group by epci
        ), ranked as (
            select epci,
                (sum(members) over (order by rurality desc, epci) - members) / sum(members) over () as more_rural
            from epcis
        )
        select geography.*, more_rural from geography join ranked using (epci)
    """


def _label(column: str, labels: dict[str, str]) -> str:
    cases = " ".join(f"when '{code}' then '{label.replace(chr(39), chr(39) * 2)}'" for code, label in labels.items())
    return f"case {column} {cases} end"
