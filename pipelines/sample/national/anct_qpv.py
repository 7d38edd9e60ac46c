"""The priority neighbourhoods (QPV) of the national territory, in the sample's two layouts.

As :mod:`pipelines.sample.anct_qpv` writes them, on the communes actuelles of geography 2025
(Paris, Lyon and Marseille whole, as the real files code them):

* 2015: qp.geojson (contours, one commune code per QPV) and qp.csv (INSEE statistics, UTF-8
  with BOM: the population columns, ind_jeune and tp60 filled, the others empty);
* 2024: qp2024_geojson.zip holding the national GeoJSON (one feature per line, CRS84).

A town has QPV by its size: floor((population / 10,000)^0.6 + u - 0.5) of them, u uniform
(none under about 3,000 inhabitants; a city of 100,000 has 3 or 4, Paris about 25): about
1,700 QPV at scale 1 in some 1,200 communes. Of those, 80 % are in both generations, 8 % only
in 2015 and 12 % only in 2024: about 1,500 QPV in 2015 (QPddd###) and 1,550 in 2024
(QNdddnnM, at most 99 per département). 6 % of them reach over into the nearest commune of
the same EPCI (both listed in 2024, the main one only in the 2015 contours). A QPV is a
polygon of :data:`VERTICES` points around a point near the town hall (further out in a
city), of the area its people need at 10,000 inhabitants per km²; its population is
log-normal around 3,500 (at least 1,000, at most 60 % of its commune's share).
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from pipelines.sample.anct_qpv import (
    CRS84,
    GEOGRAPHY_VINTAGE,
    NAMES,
    NATIONAL_MEMBER,
    STATISTICS_HEADER,
    ZIP_DATE,
    ZIP_NAME,
)
from pipelines.sample.national.common import copy_lines
from pipelines.sample.national.common import reencode, vintage_dir, zip_members
from pipelines.sample.national.territory import NationalTerritory

SOURCE = "anct_qpv"
PEOPLE_PER_QPV = 10_000  # scale of the number of QPV of a town
QPV_EXPONENT = 0.6
ONLY_2015, ONLY_2024 = 0.08, 0.12  # shares of the QPV in one generation only
SPANNING_SHARE = 0.06  # QPV reaching over into a neighbouring commune
MEDIAN_POPULATION, MIN_POPULATION = 3_500, 1_000
QPV_DENSITY = 10_000  # inhabitants per km²
VERTICES = 48
MAX_PER_DEPARTEMENT_2024 = 99  # two digits in the 2024 codes


def write(territory: NationalTerritory, con: duckdb.DuckDBPyConnection, dest: Path) -> list[str]:
    """Write the 2015 contours and statistics and the 2024 national ZIP; returns ["2015", "2024"]."""
    _write_2015(con, vintage_dir(dest, SOURCE, "2015"))
    _write_2024(con, vintage_dir(dest, SOURCE, "2024"))
    return ["2015", "2024"]


def quartiers_query() -> str:
    """One row per QPV of either generation: key, the main commune's columns, the second
    commune (second_code, second_libelle, second_population, or NULL), population_qpv, qpv_name,
    in_2015, in_2024 and ring (the closed contour around centre_lon, centre_lat: [[lon, lat], …])."""
    names = "[" + ", ".join("'" + name.replace("'", "''") + "'" for name in NAMES) + "]"
    count = f"greatest(0, floor(power(population / {PEOPLE_PER_QPV}, {QPV_EXPONENT}) + rnd(code, 'qpv') - 0.5))"
    return f"""
        with geography as (
            select * from actuelles where vintage = '{GEOGRAPHY_VINTAGE}'
        ), slots as (
            select *, code || '-' || slot as key, count(*) over (partition by code) as quartiers
            from geography, unnest(range(1, cast({count} as integer) + 1)) as t(slot)
        ), seconds as (
            select s.key, arg_min(n.code, (n.lon - s.lon) ^ 2 + (n.lat - s.lat) ^ 2) as second_code
            from slots s join geography n on n.epci = s.epci and n.code <> s.code
            where rnd(s.key, 'qpv-spans') < {SPANNING_SHARE}
            group by s.key
        ), quartiers as (
            select s.*, n.code as second_code, n.libelle as second_libelle, n.population as second_population,
                (s.lon + coalesce(n.lon, s.lon)) / 2 + (rnd(s.key, 'qpv-x') - 0.5) * spread as centre_lon,
                (s.lat + coalesce(n.lat, s.lat)) / 2 + (rnd(s.key, 'qpv-y') - 0.5) * spread * 0.7 as centre_lat,
                cast(greatest({MIN_POPULATION}, least(
                    round(exp(ln({MEDIAN_POPULATION}) + 0.6 * rnd_normal(s.key, 'qpv-population'))),
                    round(0.6 * s.population / s.quartiers))) as bigint) as population_qpv,
                {names}[1 + name_index]
                    || if(rnd(s.key, 'qpv-double-name') < 0.3, ' - ' || {names}[1 + other_index], '') as qpv_name,
                rnd(s.key, 'qpv-generation') as generation
            from (select *, 0.01 + 0.05 * least(1, population / 500000) as spread,
                         rnd_int(key, 'qpv-name', {len(NAMES)}) as name_index,
                         (name_index + 1 + rnd_int(key, 'qpv-name-2', {len(NAMES) - 1})) % {len(NAMES)} as other_index
                  from slots) s
            left join seconds using (key) left join geography n on n.code = seconds.second_code
        ), vertices as (
            select key, k,
                sqrt(population_qpv / {QPV_DENSITY} / pi()) * (0.8 + 0.4 * rnd(key || ':' || (k % {VERTICES}), 'qpv-r'))
                    as radius_km
            from quartiers, unnest(range(0, {VERTICES} + 1)) as t(k)
        ), rings as (
            select v.key, list([round(q.centre_lon + v.radius_km / (111.32 * cos(radians(q.centre_lat)))
                                      * cos(2 * pi() * v.k / {VERTICES}), 6),
                                round(q.centre_lat + v.radius_km / 110.57 * sin(2 * pi() * v.k / {VERTICES}), 6)]
                               order by v.k) as ring
            from vertices v join quartiers q using (key)
            group by v.key
        )
        select q.*,
               generation < {ONLY_2015} or generation >= {ONLY_2015 + ONLY_2024} as in_2015,
               generation >= {ONLY_2015} as in_2024, ring
        from quartiers q join rings using (key)
    """


def coded_query(generation: str) -> str:
    """The QPV of one generation with their code (code_qp), numbered in each département by
    decreasing population of their commune."""
    number = "row_number() over (partition by departement order by population desc, code, slot)"
    if generation == "2015":
        code = f"'QP' || lpad(departement, 3, '0') || lpad(cast({number} as varchar), 3, '0')"
        return f"select *, {code} as code_qp from ({quartiers_query()}) where in_2015"
    code = "'QN' || lpad(departement, 3, '0') || lpad(cast(number as varchar), 2, '0') || 'M'"
    return f"""
        select *, {code} as code_qp
        from (select *, {number} as number from ({quartiers_query()}) where in_2024)
        where number <= {MAX_PER_DEPARTEMENT_2024}
    """


def _write_2015(con: duckdb.DuckDBPyConnection, folder: Path) -> None:
    quartiers = coded_query("2015")
    names = "libelle || coalesce(', ' || second_libelle, '')"
    properties = (
        f"json_object('code_qp', code_qp, 'nom_qp', qpv_name, 'commune_qp', libelle, 'code_commune', code, "
        f"'nom_commune', {names}, 'code_departement', departement)"
    )
    _write_geojson(con, folder / "qp.geojson", "contours_QP", quartiers, properties, "'Polygon'", "[ring]")

    filled = {
        "code_qp": "code_qp", "nom_qp": "qpv_name", "nom_commune": "nom_commune", "pop_mun": "population_qpv",
        "pop_com_qp": "sum(population_qpv) over (partition by nom_commune)",
        "pop_com": "population + coalesce(second_population, 0)",
        "ind_jeune": "printf('%.1f', 0.6 + 2.2 * rnd(code_qp, 'qpv-ind-jeune'))",
        "tp60": "printf('%.1f', 30 + 32 * rnd(code_qp, 'qpv-tp60'))",
    }  # fmt: skip
    columns = ", ".join(f"{filled.get(c, 'null')} as {c}" for c in STATISTICS_HEADER)
    statistics = folder / "qp.csv"
    con.execute(
        f"copy (select {columns} from (select *, {names} as nom_commune from ({quartiers})) order by code_qp) "
        f"to '{statistics}' (format csv, header)"
    )
    reencode(statistics, "utf-8", bom=True)


def _write_2024(con: duckdb.DuckDBPyConnection, folder: Path) -> None:
    quartiers = f"""
        select q.*, r.nom as lib_reg, d.nom as lib_dep
        from ({coded_query("2024")}) q join regions r on r.code = q.region join departements d on d.code = q.departement
    """
    properties = (
        "json_object('fid', row_number() over (order by code_qp), 'code_qp', code_qp, 'lib_qp', qpv_name, "
        "'insee_reg', region, 'lib_reg', lib_reg, 'insee_dep', departement, 'lib_dep', lib_dep, "
        "'insee_com', code || coalesce(', ' || second_code, ''), "
        "'lib_com', libelle || coalesce(', ' || second_libelle, ''), 'siren_epci', epci)"
    )
    geojson = folder / f".{Path(NATIONAL_MEMBER).name}"
    _write_geojson(con, geojson, Path(NATIONAL_MEMBER).stem, quartiers, properties, "'MultiPolygon'", "[[ring]]")
    zip_members(folder / ZIP_NAME, {NATIONAL_MEMBER: geojson}, date=ZIP_DATE)
    geojson.unlink()


def _write_geojson(
    con: duckdb.DuckDBPyConnection, path: Path, name: str, quartiers: str, properties: str, kind: str, coordinates: str
) -> None:
    """A FeatureCollection laid out like GDAL writes it (one feature per line), features by code_qp."""
    head = ["{", '"type": "FeatureCollection",', f'"name": "{name}",', f'"crs": {json.dumps(CRS84)},', '"features": [']
    feature = (
        f"json_object('type', 'Feature', 'properties', {properties}, "
        f"'geometry', json_object('type', {kind}, 'coordinates', {coordinates}))"
    )
    parts = [f"select 0 as part, {n} as n, '{line}' as line" for n, line in enumerate(head)]
    parts.append(
        f"select 1, row_number() over (order by code_qp), {feature}::varchar "
        f"|| if(row_number() over (order by code_qp) = count(*) over (), '', ',') from ({quartiers})"
    )
    parts += ["select 2, 0, ']'", "select 2, 1, '}'"]
    copy_lines(con, f"select line from ({' union all '.join(parts)}) order by part, n", path)
