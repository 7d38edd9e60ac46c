"""Sample of etalab_contours: communes-100m.geojson.gz of each sample geography vintage."""

from __future__ import annotations

import gzip
from pathlib import Path

import duckdb
import polars as pl

from pipelines.sample._contours import feature_collection, feature_lines
from pipelines.sample.territory import SAMPLE_GEOGRAPHY_VINTAGES, Territory

SOURCE = "etalab_contours"
FILE_NAME = "communes-100m.geojson.gz"
REACH = 0.12  # degrees: the radius of a commune with no neighbour near it


def write(territory: Territory, dest: Path) -> list[str]:
    """The Voronoi contours of the communes actuelles of each vintage (Etalab's properties)."""
    for vintage in SAMPLE_GEOGRAPHY_VINTAGES:
        communes = pl.DataFrame(  # noqa: F841 - read by DuckDB below
            [
                {"code": c.code, "nom": c.libelle, "departement": c.departement, "region": c.region,
                 "epci": c.epci, "lon": c.lon, "lat": c.lat}
                for c in territory.geography(vintage).actuelles
            ]  # fmt: skip
        )
        with duckdb.connect() as con:
            con.execute("load spatial")
            con.execute("create table communes as select * from communes")
            properties = "struct_pack(code := p.code, nom := p.nom, departement := p.departement, region := p.region, epci := p.epci)"
            lines = feature_lines(con, "select * from communes", REACH, properties)
        folder = Path(dest) / SOURCE / vintage
        folder.mkdir(parents=True, exist_ok=True)
        (folder / FILE_NAME).write_bytes(gzip.compress(feature_collection(lines), mtime=0))
    return list(SAMPLE_GEOGRAPHY_VINTAGES)
