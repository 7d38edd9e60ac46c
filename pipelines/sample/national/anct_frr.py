"""The France Ruralités Revitalisation list of July 2025 for the national territory.

The `;` CSV export of :mod:`pipelines.sample.anct_frr` (UTF-8, CRLF, each line ending with
`;`), one row per commune actuelle of geography 2025 (about 34,700 at scale 1), by code.

FRR is decided for whole EPCI, ranked from the most rural as for the ZRR (see
:mod:`pipelines.sample.national.anct_zrr`) but with a little noise, so that the two zonings
differ at the margin: the communes of the most rural EPCI holding :data:`FRR_PLUS_SHARE` of
the communes are FRR+, those of the next ones up to :data:`FRR_SHARE` FRR socle, urban
centres (levels 1 and 2) excepted. A third of the 2017 communes nouvelles of those EPCI are
"Classée FRR partiellement". A commune classified in ZRR (or partly) whose EPCI did not
make it into FRR keeps the benefits: "FRR bénéficiaire" (or "… partiellement"). Every other
commune is "Non classée".
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.sample.anct_frr import FILE_NAME, HEADER, VINTAGE
from pipelines.sample.national.common import copy_lines
from pipelines.sample.national.anct_zrr import communes_by_rurality, zrr_query
from pipelines.sample.national.common import vintage_dir
from pipelines.sample.national.territory import NationalTerritory

SOURCE = "anct_frr"
FRR_PLUS_SHARE = 0.08  # of the communes, in the most rural EPCI
FRR_SHARE = 0.5  # FRR+ and FRR socle
RANK_NOISE = 0.08  # standard deviation added to an EPCI's mean density level before ranking
PARTIAL_SHARE = 1 / 3  # of the communes nouvelles of 2017 in FRR EPCI


def write(territory: NationalTerritory, con: duckdb.DuckDBPyConnection, dest: Path) -> list[str]:
    """Write liste-communes-FRR-juillet2025.csv; returns ["2025"]."""
    lines = f"""
        select line || ';' || chr(13) from (
            select '' as code, '{";".join(HEADER)}' as line
            union all
            select code, concat_ws(';', code, departement, libelle, label) from ({frr_query()})
        ) order by code
    """
    copy_lines(con, lines, vintage_dir(dest, SOURCE, VINTAGE) / FILE_NAME)
    return [VINTAGE]


def frr_query() -> str:
    """Every commune of geography 2025: code, departement, libelle and its FRR label."""
    return f"""
        with zrr as ({zrr_query()}),
        frr as (select code, more_rural from ({communes_by_rurality("frr", RANK_NOISE)}))
        select code, departement, libelle,
            case
                when more_rural < {FRR_SHARE} and nouvelle and rnd(code, 'frr-partial') < {PARTIAL_SHARE}
                    then 'Classée FRR partiellement'
                when more_rural < {FRR_PLUS_SHARE} and density_level > 2 then 'FRR+'
                when more_rural < {FRR_SHARE} and density_level > 2 then 'FRR socle'
                when status = 'C' then 'FRR bénéficiaire'
                when status = 'P' then 'FRR bénéficiaire partiellement'
                else 'Non classée'
            end as label
        from zrr join frr using (code)
    """
