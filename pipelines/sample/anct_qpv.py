"""Sample of anct_qpv: the priority neighbourhoods of the sample territory, in two layouts.

* 2024: the ANCT national contours, a ZIP holding
  ``GEOJSON/QP2024_France_Hexagonale_Outre_Mer_WGS84.geojson`` (one feature per line, CRS84),
  and ``qp.csv``, INSEE's statistics in the 2015 layout (INSEE's own 2024 files were not at
  hand, see the catalogue), without the QPV's populations: INSEE publishes those apart
  (pop_QPV24.csv, not in the sample), so the 2024 population shares stay absent.
* 2015: the layout of the Occitanie extract: ``qp.geojson`` (contours, one commune code per
  QPV) and ``qp.csv`` (INSEE statistics, UTF-8 with BOM: the 44 columns of the real file, the
  statistics drawn around the values of the Occitanie QPV, empty where INSEE gives none).

Story: the city with arrondissements (69123) has three QPV, all coded 69123 as in the real
files, and a fourth one reaches over into its biggest neighbour of the métropole; the two
biggest towns of 71 and 974 have QPV, the chef-lieu of 2A one; in 2024 one QPV of the second
town of 71 left the list and one was created in 974. The QPV spanning two communes lists both
codes in 2024 ("69123, 69xxx") but only the main one in the 2015 contours, like the real
extract (its commune names list both). The 2015 statistics leave the population of the QPV of
2A empty (see :func:`without_population`): its share is unknown in its commune and every area
that holds it.

The statistics tell, in both generations (see :func:`statistics_story`): the first QPV of
69123 is young and out of work (youth index 2.6, employment rate 38.5 %), the first QPV of the
largest town of 71 the poorest (poverty rate 58.4 %), and INSEE gives nothing at all for the
QPV of 2A (statistical secret: every statistic empty, its population too).
"""

from __future__ import annotations

import csv
import io
import json
import random
import zipfile
from dataclasses import dataclass
from pathlib import Path

from pipelines.sample.territory import Commune, Territory

SOURCE = "anct_qpv"
GEOGRAPHY_VINTAGE = "2025"
ZIP_NAME = "qp2024_geojson.zip"
STATISTICS_NAME = "qp.csv"
NATIONAL_MEMBER = "GEOJSON/QP2024_France_Hexagonale_Outre_Mer_WGS84.geojson"
# Fixed date of the ZIP entries, so that the bytes never change.
ZIP_DATE = (2024, 6, 27, 0, 0, 0)
CRS84 = {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}
STATISTICS_HEADER = [
    "code_qp", "nom_qp", "nom_commune", "pop_mun", "pop_com_qp", "pop_com", "ind_jeune", "tx_tot_et", "tx_f",
    "tx_f_et", "percou", "pmimp", "part_chomprinc", "decuc_q2", "decuc_d1", "decuc_d9", "disp_q2", "disp_d1",
    "disp_d9", "tp60", "brev", "a", "tx_tot_empl", "tx_f_empl", "tx_et_empl", "tx_tot_eprec", "tx_f_eprec",
    "tx_et_eprec", "abcde", "abcde_f", "abcde_h", "abc_capbep", "abc_bac", "abc_supbac", "ec_mat", "ec_elem",
    "ec_elem_pri", "coll", "coll_pri", "nbetab", "ens_sante", "serv_par", "serv_tot", "auto_ent",
]  # fmt: skip
NAMES = (
    "Les Terrasses", "Le Plateau", "Les Tilleuls", "Champ-Fleuri", "Les Sablons", "Le Moulin",
    "La Fontaine", "Les Genêts", "Bellevue-Sud", "Les Acacias", "Le Stade - Centre Ancien", "Les Hauts de Ville",
)  # fmt: skip


@dataclass(frozen=True)
class Quartier:
    """One sample QPV: its name, its communes (main one first), population and generations."""

    name: str
    communes: tuple[Commune, ...]
    population: int
    in_2015: bool
    in_2024: bool
    lon: float
    lat: float


def quartiers(territory: Territory) -> list[Quartier]:
    """The sample QPV, in a fixed order (the tests read the same list)."""
    geography = territory.geography(GEOGRAPHY_VINTAGE)
    by_departement: dict[str, list[Commune]] = {}
    for commune in sorted(geography.actuelles, key=lambda c: (-c.population, c.code)):
        by_departement.setdefault(commune.departement, []).append(commune)
    city = geography.commune("69123")
    neighbour = next(c for c in by_departement["69"] if c.code != city.code and c.epci == city.epci)
    plan = [
        (city,), (city,), (city,), (city, neighbour),
        (by_departement["71"][0],), (by_departement["71"][0],), (by_departement["71"][1],),
        (by_departement["974"][0],), (by_departement["974"][0],), (by_departement["974"][1],),
        (by_departement["974"][1],), (by_departement["2A"][0],),
    ]  # fmt: skip
    result = []
    for index, (name, communes) in enumerate(zip(NAMES, plan)):
        rng = random.Random(f"{territory.seed}-{SOURCE}-{index}")
        share = rng.uniform(0.04, 0.12)
        population = sum(round(c.population * share / len(communes)) for c in communes)
        lon = sum(c.lon for c in communes) / len(communes) + rng.uniform(-0.01, 0.01)
        lat = sum(c.lat for c in communes) / len(communes) + rng.uniform(-0.01, 0.01)
        # The second town of 71 left the list in 2024; the second town of 974 gained one then.
        in_2015, in_2024 = index != 10, index != 6
        result.append(Quartier(name, communes, population, in_2015, in_2024, round(lon, 5), round(lat, 5)))
    return result


def without_population(territory: Territory) -> Quartier:
    """The 2015 quartier whose population the statistics file leaves empty."""
    return quartiers(territory)[-1]


@dataclass(frozen=True)
class StatisticsStory:
    """The quartiers the statistics single out, in both generations, and their telling values."""

    young_out_of_work: Quartier  # ind_jeune YOUNG_INDEX, tx_tot_empl LOW_EMPLOYMENT
    poorest: Quartier  # tp60 HIGH_POVERTY
    secret: Quartier  # every statistic empty


YOUNG_INDEX, LOW_EMPLOYMENT, HIGH_POVERTY = 2.6, 38.5, 58.4


def statistics_story(territory: Territory) -> StatisticsStory:
    """Which quartiers carry the statistics' story (they are in both generations)."""
    listed = quartiers(territory)
    return StatisticsStory(young_out_of_work=listed[0], poorest=listed[4], secret=without_population(territory))


def qpv_code(quartier: Quartier, generation: str, number: int) -> str:
    """QPddd### (2015) or QNdddnnM (2024), ddd the département on three characters."""
    departement = quartier.communes[0].departement.rjust(3, "0")
    return f"QP{departement}{number:03d}" if generation == "2015" else f"QN{departement}{number:02d}M"


def coded(territory: Territory, generation: str) -> list[tuple[str, Quartier]]:
    """(code, QPV) of one generation, numbered in each département in list order."""
    counters: dict[str, int] = {}
    result = []
    for quartier in quartiers(territory):
        if not (quartier.in_2015 if generation == "2015" else quartier.in_2024):
            continue
        departement = quartier.communes[0].departement
        counters[departement] = counters.get(departement, 0) + 1
        result.append((qpv_code(quartier, generation, counters[departement]), quartier))
    return result


def write(territory: Territory, dest: Path) -> list[str]:
    """Write the 2015 contours and statistics and the 2024 national ZIP."""
    _write_2015(territory, Path(dest) / SOURCE / "2015")
    _write_2024(territory, Path(dest) / SOURCE / "2024")
    return ["2015", "2024"]


def _write_2015(territory: Territory, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    entries = coded(territory, "2015")
    features = []
    for code, quartier in entries:
        main = quartier.communes[0]
        properties = {
            "code_qp": code, "nom_qp": quartier.name, "commune_qp": main.libelle, "code_commune": main.code,
            "nom_commune": _names(quartier), "code_departement": main.departement,
        }  # fmt: skip
        features.append(_feature(properties, _square(quartier), "Polygon"))
    (folder / "qp.geojson").write_bytes(_geojson("contours_QP", features))

    _write_statistics(territory, entries, folder / STATISTICS_NAME, with_populations=True)


def _write_statistics(
    territory: Territory, entries: list[tuple[str, Quartier]], path: Path, *, with_populations: bool
) -> None:
    """qp.csv in the layout of the Occitanie extract: one row per QPV, the statistics drawn."""
    population_of_communes: dict[str, int] = {}
    for _, quartier in entries:
        key = _names(quartier)
        population_of_communes[key] = population_of_communes.get(key, 0) + quartier.population
    tale = statistics_story(territory)
    rows = []
    for code, quartier in entries:
        names = {"code_qp": code, "nom_qp": quartier.name, "nom_commune": _names(quartier)}
        if quartier == tale.secret:  # statistical secret: INSEE gives nothing, not even the population
            rows.append([names.get(column, "") for column in STATISTICS_HEADER])
            continue
        drawn = _drawn_statistics(random.Random(f"{territory.seed}-{SOURCE}-stats-{code}"), quartier.population)
        populations = {
            "pop_mun": quartier.population, "pop_com_qp": population_of_communes[_names(quartier)],
        } if with_populations else {"pop_mun": "", "pop_com_qp": ""}  # fmt: skip
        told = {}
        if quartier == tale.young_out_of_work:
            told = {"ind_jeune": f"{YOUNG_INDEX:.1f}", "tx_tot_empl": f"{LOW_EMPLOYMENT:.1f}", "tx_f_empl": "31.2"}
        elif quartier == tale.poorest:
            told = {"tp60": f"{HIGH_POVERTY:.1f}"}
        filled = drawn | names | populations | {"pop_com": sum(c.population for c in quartier.communes)} | told
        rows.append([filled.get(column, "") for column in STATISTICS_HEADER])
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(STATISTICS_HEADER)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode("utf-8-sig"))


def _drawn_statistics(rng: random.Random, population: int) -> dict[str, str]:
    """The statistics of one QPV of `population` inhabitants, as qp.csv writes them, drawn within
    the ranges of the Occitanie QPV (youth index under 2, poverty rate under 55 %, employment rate
    over 40 %: the story's quartiers stand out); the foreigners' precarious jobs are often secret."""
    job_seekers = round(population * rng.uniform(0.10, 0.18))
    women = round(job_seekers * rng.uniform(0.42, 0.55))
    shares = (rng.uniform(0.3, 0.4), rng.uniform(0.15, 0.25), rng.uniform(0.08, 0.2))  # CAP-BEP, bac, above
    by_level = [round(job_seekers * share) for share in shares]
    allocataires = round(population * rng.uniform(0.25, 0.4))
    establishments = round(population / rng.uniform(8, 20))
    services = round(establishments * rng.uniform(0.4, 0.6))
    personal = round(services * rng.uniform(0.4, 0.6))
    median = rng.randint(9_000, 13_000)

    def rate(low: float, high: float) -> str:
        return f"{rng.uniform(low, high):.1f}"

    return {
        "ind_jeune": rate(0.6, 1.9), "tx_tot_et": rate(4, 30), "tx_f": rate(49, 55), "tx_f_et": rate(4, 28),
        "percou": str(round(allocataires * rng.uniform(1.8, 2.4))), "pmimp": rate(15, 35),
        "part_chomprinc": rate(5, 14), "decuc_q2": str(median),
        "decuc_d1": str(rng.choice((0, 0, rng.randint(100, 2_000)))),  # often 0, as in the real file
        "decuc_d9": str(median + rng.randint(12_000, 18_000)), "disp_q2": str(median + rng.randint(2_500, 4_000)),
        "disp_d1": str(rng.randint(6_000, 8_000)), "disp_d9": str(median + rng.randint(11_000, 15_000)),
        "tp60": rate(30, 55), "brev": rate(45, 65), "a": str(allocataires),
        "tx_tot_empl": rate(41, 58), "tx_f_empl": rate(35, 55), "tx_et_empl": rate(30, 50),
        "tx_tot_eprec": rate(18, 32), "tx_f_eprec": rate(18, 32),
        "tx_et_eprec": rate(25, 55) if rng.random() < 0.6 else "",
        "abcde": str(job_seekers), "abcde_f": str(women), "abcde_h": str(job_seekers - women),
        "abc_capbep": str(by_level[0]), "abc_bac": str(by_level[1]), "abc_supbac": str(by_level[2]),
        "ec_mat": str(rng.randint(0, 3)), "ec_elem": str(rng.randint(0, 4)), "ec_elem_pri": str(rng.randint(0, 1)),
        "coll": str(rng.randint(0, 2)), "coll_pri": str(rng.randint(0, 1)), "nbetab": str(establishments),
        "ens_sante": str(round(personal * rng.uniform(0.4, 0.7))), "serv_par": str(personal),
        "serv_tot": str(services), "auto_ent": str(rng.randint(1, 12)),
    }  # fmt: skip


def _write_2024(territory: Territory, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    regions = {r.code: r.nom for r in territory.regions}
    departements = {d.code: d.nom for d in territory.departements}
    features = []
    for fid, (code, quartier) in enumerate(coded(territory, "2024"), start=1):
        main = quartier.communes[0]
        properties = {
            "fid": fid, "code_qp": code, "lib_qp": quartier.name, "insee_reg": main.region,
            "lib_reg": regions[main.region], "insee_dep": main.departement, "lib_dep": departements[main.departement],
            "insee_com": ", ".join(c.code for c in quartier.communes), "lib_com": _names(quartier),
            "siren_epci": main.epci,
        }  # fmt: skip
        features.append(_feature(properties, [_square(quartier)], "MultiPolygon"))
    geojson = _geojson("QP2024_France_Hexagonale_Outre_Mer_WGS84", features)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        entry = zipfile.ZipInfo(NATIONAL_MEMBER, date_time=ZIP_DATE)
        entry.compress_type = zipfile.ZIP_DEFLATED
        entry.external_attr = 0o644 << 16
        archive.writestr(entry, geojson)
    (folder / ZIP_NAME).write_bytes(buffer.getvalue())
    _write_statistics(territory, coded(territory, "2024"), folder / STATISTICS_NAME, with_populations=False)


def _names(quartier: Quartier) -> str:
    return ", ".join(c.libelle for c in quartier.communes)


def _square(quartier: Quartier, half_side: float = 0.004) -> list[list[list[float]]]:
    """A closed ring around the QPV's point (enough for a sample contour)."""
    x, y = quartier.lon, quartier.lat
    ring = [(x - half_side, y - half_side), (x + half_side, y - half_side), (x + half_side, y + half_side),
            (x - half_side, y + half_side), (x - half_side, y - half_side)]  # fmt: skip
    return [[[round(a, 5), round(b, 5)] for a, b in ring]]


def _feature(properties: dict, coordinates: list, geometry_type: str) -> dict:
    geometry = {"type": geometry_type, "coordinates": coordinates}
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def _geojson(name: str, features: list[dict]) -> bytes:
    """A FeatureCollection laid out like GDAL writes it: one feature per line."""
    head = f'{{\n"type": "FeatureCollection",\n"name": "{name}",\n"crs": {json.dumps(CRS84)},\n"features": [\n'
    lines = [json.dumps(f, ensure_ascii=False) for f in features]
    return (head + ",\n".join(lines) + "\n]\n}\n").encode("utf-8")
