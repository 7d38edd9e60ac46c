"""The priority neighbourhoods (QPV) of the national territory, in the sample's two layouts.

As :mod:`pipelines.sample.anct_qpv` writes them, on the communes actuelles of geography 2025
(Paris, Lyon and Marseille whole, as the real files code them):

* 2015: qp.geojson (contours, one commune code per QPV) and qp.csv (INSEE statistics, UTF-8
  with BOM, the 44 columns of the real file);
* 2024: qp2024_geojson.zip holding the national GeoJSON (one feature per line, CRS84), and
  qp.csv, the statistics in the 2015 layout without the QPV's populations (INSEE publishes
  them apart).

The statistics are drawn within the ranges of the Occitanie QPV (youth index 0.6 to 2.8,
poverty rate 30 to 62 %, employment rate 35 to 60 %, 10 to 18 job seekers per 100
inhabitants…); 1 QPV in 50 has none but its population (statistical secret: every other
statistic empty), and 4 in 10 no precarious-job share for foreigners.

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
    STATISTICS_NAME,
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
SECRET_SHARE = 0.02  # QPV of which INSEE gives no statistic but the population


def write(territory: NationalTerritory, con: duckdb.DuckDBPyConnection, dest: Path) -> list[str]:
    """Write the contours and statistics of 2015 and of 2024 (the national ZIP); returns ["2015", "2024"]."""
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
    _write_statistics(con, quartiers, folder / STATISTICS_NAME, with_populations=True)


def _write_statistics(con: duckdb.DuckDBPyConnection, quartiers: str, path: Path, *, with_populations: bool) -> None:
    """qp.csv in the layout of the Occitanie extract, one row per QPV of `quartiers` (by code_qp)."""
    names = "libelle || coalesce(', ' || second_libelle, '')"

    def rate(column: str, low: float, high: float) -> str:
        return f"printf('%.1f', {low} + {high - low} * rnd(code_qp, 'qpv-{column}'))"

    def share_of(total: str, column: str, low: float, high: float) -> str:
        return f"cast(round({total} * ({low} + {high - low} * rnd(code_qp, 'qpv-{column}'))) as bigint)"

    drawn = {
        "ind_jeune": rate("ind_jeune", 0.6, 2.8), "tx_tot_et": rate("tx_tot_et", 4, 30),
        "tx_f": rate("tx_f", 49, 55), "tx_f_et": rate("tx_f_et", 4, 28),
        "percou": share_of("allocataires", "percou", 1.8, 2.4), "pmimp": rate("pmimp", 15, 35),
        "part_chomprinc": rate("part_chomprinc", 5, 14), "decuc_q2": "median_income",
        "decuc_d1": f"if(rnd(code_qp, 'qpv-d1-zero') < 0.7, 0, 100 + rnd_int(code_qp, 'qpv-d1', 1900))",
        "decuc_d9": "median_income + 12000 + rnd_int(code_qp, 'qpv-d9', 6000)",
        "disp_q2": "median_income + 2500 + rnd_int(code_qp, 'qpv-disp-q2', 1500)",
        "disp_d1": "6000 + rnd_int(code_qp, 'qpv-disp-d1', 2000)",
        "disp_d9": "median_income + 11000 + rnd_int(code_qp, 'qpv-disp-d9', 4000)",
        "tp60": rate("tp60", 30, 62), "brev": rate("brev", 45, 68), "a": "allocataires",
        "tx_tot_empl": rate("tx_tot_empl", 35, 60), "tx_f_empl": rate("tx_f_empl", 30, 55),
        "tx_et_empl": rate("tx_et_empl", 28, 50), "tx_tot_eprec": rate("tx_tot_eprec", 18, 32),
        "tx_f_eprec": rate("tx_f_eprec", 18, 32),
        "tx_et_eprec": f"if(rnd(code_qp, 'qpv-et-eprec-secret') < 0.4, null, {rate('tx_et_eprec', 25, 55)})",
        "abcde": "job_seekers", "abcde_f": "women_job_seekers", "abcde_h": "job_seekers - women_job_seekers",
        "abc_capbep": share_of("job_seekers", "capbep", 0.3, 0.4),
        "abc_bac": share_of("job_seekers", "bac", 0.15, 0.25),
        "abc_supbac": share_of("job_seekers", "supbac", 0.08, 0.2),
        "ec_mat": "rnd_int(code_qp, 'qpv-ec-mat', 4)", "ec_elem": "rnd_int(code_qp, 'qpv-ec-elem', 5)",
        "ec_elem_pri": "rnd_int(code_qp, 'qpv-ec-elem-pri', 2)", "coll": "rnd_int(code_qp, 'qpv-coll', 3)",
        "coll_pri": "rnd_int(code_qp, 'qpv-coll-pri', 2)", "nbetab": "establishments",
        "ens_sante": share_of("personal", "ens-sante", 0.4, 0.7), "serv_par": "personal",
        "serv_tot": "services", "auto_ent": "1 + rnd_int(code_qp, 'qpv-auto-ent', 12)",
    }  # fmt: skip
    populations = {
        "pop_mun": "population_qpv", "pop_com_qp": "sum(population_qpv) over (partition by nom_commune)",
    } if with_populations else {}  # fmt: skip
    secret = f"rnd(code_qp, 'qpv-secret') < {SECRET_SHARE}"
    filled = {c: f"if({secret}, null, {sql})" for c, sql in drawn.items()} | populations
    filled |= {"code_qp": "code_qp", "nom_qp": "qpv_name", "nom_commune": "nom_commune",
               "pop_com": "population + coalesce(second_population, 0)"}  # fmt: skip
    columns = ", ".join(f"{filled.get(c, 'null')} as {c}" for c in STATISTICS_HEADER)
    base = f"""
        select *, {names} as nom_commune,
            cast(round(population_qpv * (0.10 + 0.08 * rnd(code_qp, 'qpv-job-seekers'))) as bigint) as job_seekers,
            cast(round(population_qpv * (0.25 + 0.15 * rnd(code_qp, 'qpv-allocataires'))) as bigint) as allocataires,
            cast(round(population_qpv / (8 + 12 * rnd(code_qp, 'qpv-establishments'))) as bigint) as establishments,
            9000 + rnd_int(code_qp, 'qpv-median', 4000) as median_income
        from ({quartiers})
    """
    derived = f"""
        select *,
            cast(round(job_seekers * (0.42 + 0.13 * rnd(code_qp, 'qpv-women'))) as bigint) as women_job_seekers,
            cast(round(establishments * (0.4 + 0.2 * rnd(code_qp, 'qpv-services'))) as bigint) as services
        from ({base})
    """
    personal = f"""
        select *, cast(round(services * (0.4 + 0.2 * rnd(code_qp, 'qpv-personal'))) as bigint) as personal
        from ({derived})
    """
    con.execute(f"copy (select {columns} from ({personal}) order by code_qp) to '{path}' (format csv, header)")
    reencode(path, "utf-8", bom=True)


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
    _write_statistics(con, coded_query("2024"), folder / STATISTICS_NAME, with_populations=False)


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
