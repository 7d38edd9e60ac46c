"""Sample of finess: FINESS's geolocated establishments stock and its equipment extraction.

Two files for the 2026 vintage, in data.gouv.fr's layouts (see the catalogue notes): the
stock ``etalab-cs1100507-stock.csv`` (the ``finess;etalab;…`` header line, one 32-field
``structureet`` line per establishment, then the 6-field ``geolocalisation`` lines) and the
equipment extraction ``etalab-cs1100505-stock-20260311-0344.csv`` (a ``structureet`` line
per social or medico-social establishment, then its ``equipementsocial`` lines, written with
the 28 fields of FINESS's standard flux order). UTF-8, `;`, LF; empty fields are empty, a
field holding `;` or `"` is double-quoted. Phone numbers are left empty (the places are
fictitious). Establishments lie a few hundred metres from their town hall, in the zone's
projection as FINESS gives them (Lambert-93, UTM 40S in La Réunion), in the communes of
geography 2026 and, for the city with arrondissements, in its arrondissements.

Story the tests read:

* a centre hospitalier (355) in the chef-lieu of 71, 2A, 974 and 83 (71270, 2A004, 97411,
  83137); a hôpital de proximité (106, "Centre hospitalier, ex Hôpital local") in the
  second-largest town of 71 and in the most populous small town (2,000 to 5,000
  inhabitants) of the northern half of 83's box; a CHR/CHU (101) in the most populous
  arrondissement of 69123;
* an EHPAD (500) in every commune or arrondissement of 5,000 inhabitants or more (one, and
  one more per 15,000 inhabitants), and in the villages of 800 to 5,000 inhabitants whose
  seeded draw is under 0.15; a résidence autonomie (202) in the towns of 8,000 or more whose
  seeded draw is under 0.3, and always in the most populous town;
* other categories, so that filtering matters: a pharmacy (620) in every commune of 3,000
  inhabitants or more (the first one's name holds quotes), a clinic (365) in 71270 and in
  the second arrondissement of 69123, a laboratory (611) in each chef-lieu (in the city with
  arrondissements, its most populous one);
* the EHPAD of the smallest village that has one has no geolocation line;
* capacities: each EHPAD has a permanent accommodation line (discipline 924, activity 11)
  of 40 to 110 seeded places, and in towns of 10,000 or more a day-care line (924, 21,
  Alzheimer clientèle 436) of 6 to 12 places; the first EHPAD of the second-largest town of 71
  also has a removed installation (indsupinst O), whose places do not count; each
  résidence autonomie has one line of 20 to 60 places.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from pipelines.sample.territory import ARRONDISSEMENT_MUNICIPAL, COMMUNE_ACTUELLE, Commune, Territory, normalized_name
from pipelines.sources.readers.finess import EQUIPMENT_FIELDS, STRUCTURE_FIELDS

SOURCE = "finess"
VINTAGE = "2026"
STOCK_FILE = "etalab-cs1100507-stock.csv"
EQUIPMENT_FILE = "etalab-cs1100505-stock-20260311-0344.csv"
STOCK_HEADER = "finess;etalab;111;2026-05-12"
EQUIPMENT_HEADER = "finess;etalab;111;2026-03-11"
GEOLOCATION_DATE = "2026-05-04"
METROPOLITAN_EPSG = 2154
MAYOTTE_PREFIX = "9805"

# INSEE département of an overseas zone → FINESS's own code (metropolitan codes are the same).
FINESS_DEPARTEMENTS = {"971": "9A", "972": "9B", "973": "9C", "974": "9D", "975": "9E", "976": "9F", "986": "9J"}
# Projection of FINESS's coordinates by INSEE département (Lambert-93 elsewhere), as written in sourcecoordet.
ZONE_EPSG = {"971": 5490, "972": 5490, "973": 2972, "974": 2975, "976": 4471}
PROJECTION_NAMES = {
    2154: "EPSG:2154 RGF93 / Lambert-93 (Métropole)",
    5490: "EPSG:5490 RGAF09/UTM Zone 20N (Antilles)",
    2972: "EPSG:2972 RGFG95/UTM Zone 22N (Guyane)",
    2975: "EPSG:2975 RGR92/UTM Zone 40S (Réunion)",
    4471: "EPSG:4471 RGM04/UTM Zone 38S (Mayotte)",
}


@dataclass(frozen=True)
class Category:
    """A FINESS category as the stock writes it, with the fields that go with it."""

    code: str
    label: str
    group: str
    group_label: str
    ape: str
    mft: tuple[str, str]
    sph: tuple[str, str]
    short: str  # how the establishment's short name begins
    long: str  # and its long name


PUBLIC_HOSPITAL = (
    ("03", "ARS établissements Publics de santé dotation globale"), ("1", "Etablissement public de santé"),
)  # fmt: skip
CATEGORIES = {
    kind: Category(*fields)
    for kind, fields in {
        "chr": ("101", "Centre Hospitalier Régional (C.H.R.)", "1101", "Centres Hospitaliers Régionaux", "8610Z",
                *PUBLIC_HOSPITAL, "CHU", "CENTRE HOSPITALIER UNIVERSITAIRE"),
        "ch": ("355", "Centre Hospitalier (C.H.)", "1102", "Centres Hospitaliers", "8610Z", *PUBLIC_HOSPITAL,
               "CH", "CENTRE HOSPITALIER"),
        "proximity": ("106", "Centre hospitalier, ex Hôpital local", "1106", "Hôpitaux Locaux", "8610Z",
                      *PUBLIC_HOSPITAL, "HOPITAL", "HOPITAL DE PROXIMITE"),
        "clinic": ("365", "Etablissement de Soins Pluridisciplinaire", "1110",
                   "Etablissements de Soins de Courte Durée", "8610Z",
                   ("07", "ARS établissements de santé non financés dotation globale"), ("0", "Non concerné"),
                   "POLYCLINIQUE", "POLYCLINIQUE"),
        "ehpad": ("500", "Etablissement d'hébergement pour personnes âgées dépendantes", "4401",
                  "Etablissements d'Hébergement pour Personnes Âgées", "8710A",
                  ("40", "ARS/PCD, Tarif global, habilité aide sociale, recours PUI"), ("", ""), "EHPAD", "EHPAD"),
        "residence": ("202", "Résidences autonomie", "4401", "Etablissements d'Hébergement pour Personnes Âgées",
                      "8730A", ("08", "Président du Conseil Départemental"), ("", ""), "RESIDENCE AUTONOMIE",
                      "RESIDENCE AUTONOMIE"),
        "pharmacy": ("620", "Pharmacie d'Officine", "3201", "Commerce de Biens à Usage Médicaux", "4773Z",
                     ("01", "Etablissement Tarif Libre"), ("", ""), "PHARMACIE", "PHARMACIE"),
        "laboratory": ("611", "Laboratoire de Biologie Médicale", "3101", "Laboratoires de Biologie Médicale",
                       "8690B", ("01", "Etablissement Tarif Libre"), ("", ""), "LBM",
                       "LABORATOIRE DE BIOLOGIE MEDICALE"),
    }.items()
}  # fmt: skip
KIND_ORDER = tuple(CATEGORIES)

# equipementsocial lines: discipline, activity, clientèle (with their labels).
ELDERLY = ("924", "Accueil pour Personnes Âgées")
PERMANENT = ("11", "Hébergement Complet Internat")
DAY_CARE = ("21", "Accueil de Jour")
DEPENDENT, ALZHEIMER, AUTONOMOUS = (
    ("711", "Personnes Âgées dépendantes"), ("436", "Personnes Alzheimer ou maladies apparentées"),
    ("701", "Personnes Âgées Autonomes"),
)  # fmt: skip
EQUIPMENT_WIDTH = 28
# Where the equipementsocial fields the sample fills sit: those the reader reads, and the dates.
EQUIPMENT_POSITIONS = {**EQUIPMENT_FIELDS, "datederinst": 16, "datepremautor": 17, "dateautor": 25, "datemajaut": 26,
                       "datemajinst": 27}  # fmt: skip


def write(territory: Territory, dest: Path) -> list[str]:
    """Write the 2026 stock and equipment extraction under <dest>/finess/2026/; returns ["2026"]."""
    folder = Path(dest) / SOURCE / VINTAGE
    folder.mkdir(parents=True, exist_ok=True)
    rows = establishments(territory)
    (folder / STOCK_FILE).write_bytes(stock_text(rows).encode("utf-8"))
    (folder / EQUIPMENT_FILE).write_bytes(equipment_text(rows, capacities(territory)).encode("utf-8"))
    return [VINTAGE]


# --------------------------------------------------------------------------------------------
# Who has what
# --------------------------------------------------------------------------------------------


def places(territory: Territory) -> list[Commune]:
    """Communes of geography 2026, the city with arrondissements through its arrondissements."""
    geography = territory.geography(VINTAGE)
    cities = {c.parent for c in geography.communes if c.type == ARRONDISSEMENT_MUNICIPAL}
    kept = [c for c in geography.communes if c.type in (COMMUNE_ACTUELLE, ARRONDISSEMENT_MUNICIPAL)]
    return sorted((c for c in kept if c.code not in cities), key=lambda c: c.code)


def story(territory: Territory) -> dict[str, list[str]]:
    """The fixed points of the story: kind → commune codes (one entry per establishment)."""
    every = places(territory)
    by_size = sorted(every, key=lambda c: (-c.population, c.code))
    chefs = {d.code: d.chef_lieu for d in territory.departements}
    var = next(d for d in territory.departements if d.code == "83")
    north = (var.bounds[2] + var.bounds[3]) / 2
    hinterland = next(c for c in by_size if c.departement == "83" and 2_000 <= c.population < 5_000 and c.lat > north)
    second_of_71 = [c for c in by_size if c.departement == "71"][1]
    arrondissements = [c for c in by_size if c.type == ARRONDISSEMENT_MUNICIPAL]
    towns = [c for c in every if c.population >= 8_000]
    residences = {c.code for c in towns if _draw(territory, c, "residence") < 0.3} | {by_size[0].code}
    return {
        "ch": [chefs[d] for d in ("71", "2A", "974", "83")],
        "proximity": [second_of_71.code, hinterland.code],
        "chr": [arrondissements[0].code],
        "clinic": [chefs["71"], sorted(c.code for c in arrondissements)[1]],
        "ehpad": [c.code for c in every for _ in range(_ehpad_count(territory, c))],
        "residence": sorted(residences),
        "pharmacy": [c.code for c in every if c.population >= 3_000],
        "laboratory": sorted(_chef_lieu_places(territory, chefs.values())),
    }


def _chef_lieu_places(territory: Territory, chefs: Iterable[str]) -> list[str]:
    """The chefs-lieux, the city with arrondissements by its most populous arrondissement."""
    by_city = {}
    for c in sorted(places(territory), key=lambda c: (-c.population, c.code)):
        by_city.setdefault(c.parent if c.type == ARRONDISSEMENT_MUNICIPAL else c.code, c.code)
    return [by_city[code] for code in chefs]


def _ehpad_count(territory: Territory, commune: Commune) -> int:
    if commune.population >= 5_000:
        return 1 + commune.population // 15_000
    return int(commune.population >= 800 and _draw(territory, commune, "ehpad") < 0.15)


def _draw(territory: Territory, commune: Commune, what: str) -> float:
    return random.Random(f"{territory.seed}-{SOURCE}-{what}-{commune.code}").random()


def ungeolocated(territory: Territory) -> str:
    """The commune whose EHPAD has no geolocation line: the smallest village with one."""
    codes = set(story(territory)["ehpad"])
    villages = [c for c in places(territory) if c.code in codes and c.population < 5_000]
    return min(villages, key=lambda c: (c.population, c.code)).code


def establishments(territory: Territory) -> list[dict]:
    """One dict per establishment: the structureet fields, `kind`, `lon`/`lat` (None: no geolocation line)."""
    by_code = {c.code: c for c in places(territory)}
    unplaced = ungeolocated(territory)
    codes = story(territory)
    rows = [
        _establishment(territory, by_code[code], kind, number, unplaced)
        for kind in KIND_ORDER
        for number, code in enumerate(codes[kind], start=1)
    ]
    return sorted(rows, key=lambda r: r["nofinesset"])


def _establishment(territory: Territory, commune: Commune, kind: str, number: int, unplaced: str) -> dict:
    category = CATEGORIES[kind]
    rng = random.Random(f"{territory.seed}-{SOURCE}-{kind}-{commune.code}-{number}")
    departement = commune.departement
    prefix = finess_prefix(departement)
    serial, width = KIND_ORDER.index(kind) * 1_000 + number, 9 - len(prefix)
    name = normalized_name(commune.name)
    short = f'{category.short} "DU CENTRE"' if (kind, number) == ("pharmacy", 1) else f"{category.short} {name}"
    opened = f"{rng.randint(1950, 2020)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    located = not (kind == "ehpad" and commune.code == unplaced)
    return {
        "kind": kind, "nofinesset": f"{prefix}{serial:0{width}d}", "nofinessej": f"{prefix}{50_000 + serial:0{width}d}",
        "rs": short[:38], "rslongue": f"{category.long} {name}"[:60], "numvoie": str(rng.randint(1, 120)),
        "typvoie": rng.choice(["R", "AV", "PL", "BD"]), "voie": rng.choice(["DE LA MAIRIE", "DU MARCHE", "DES ECOLES"]),
        "commune": commune.code[-3:], "departement": FINESS_DEPARTEMENTS.get(departement, departement),
        "libdepartement": normalized_name(_departement_name(territory, departement)),
        "ligneacheminement": f"{commune.postal_codes[0]} {name}", "categetab": category.code,
        "libcategetab": category.label, "categagretab": category.group, "libcategagretab": category.group_label,
        "siret": f"{rng.randint(10**13, 10**14 - 1)}", "codeape": category.ape, "codemft": category.mft[0],
        "libmft": category.mft[1], "codesph": category.sph[0], "libsph": category.sph[1], "dateouv": opened,
        "dateautor": opened, "datemaj": f"20{rng.randint(15, 25)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        "lon": commune.lon + rng.gauss(0, 0.003) if located else None,
        "lat": commune.lat + rng.gauss(0, 0.002) if located else None,
    }  # fmt: skip


def finess_prefix(departement: str) -> str:
    """How the FINESS numbers of a département begin: the département's code; overseas 970 and
    the zone's digit (970400024 in La Réunion), 9805 in Mayotte (980501506)."""
    if len(departement) == 2:
        return departement
    return MAYOTTE_PREFIX if departement == "976" else "970" + departement[2]


def _departement_name(territory: Territory, code: str) -> str:
    return next(d.nom for d in territory.departements if d.code == code)


def capacities(territory: Territory) -> list[dict]:
    """One dict per equipementsocial line of the EHPAD and résidences autonomie (fields by name)."""
    by_code = {c.code: c for c in places(territory)}
    rows = [row for row in establishments(territory) if row["kind"] in ("ehpad", "residence")]
    second_of_71 = story(territory)["proximity"][0]
    removed_at = next(r["nofinesset"] for r in rows if r["kind"] == "ehpad" and insee_code(r) == second_of_71)
    lines = []
    for row in rows:
        rng = random.Random(f"{territory.seed}-{SOURCE}-places-{row['nofinesset']}")
        if row["kind"] == "residence":
            lines.append(_equipment(row, PERMANENT, AUTONOMOUS, rng.randrange(20, 61, 2)))
            continue
        lines.append(_equipment(row, PERMANENT, DEPENDENT, rng.randrange(40, 111, 5)))
        if by_code[insee_code(row)].population >= 10_000:
            lines.append(_equipment(row, DAY_CARE, ALZHEIMER, rng.randint(6, 12)))
        if row["nofinesset"] == removed_at:
            lines.append(_equipment(row, DAY_CARE, DEPENDENT, 10, removed=True))
    return lines


def insee_code(row: dict) -> str:
    """The INSEE code of an establishment's commune, from FINESS's département and commune."""
    overseas = {finess: insee for insee, finess in FINESS_DEPARTEMENTS.items()}
    departement = overseas.get(row["departement"], row["departement"])
    return departement + row["commune"][-(5 - len(departement)) :]


def _equipment(
    row: dict, activity: tuple[str, str], clientele: tuple[str, str], count: int, removed: bool = False
) -> dict:
    return {
        "nofinesset": row["nofinesset"], "de": ELDERLY[0], "libde": ELDERLY[1], "ta": activity[0],
        "libta": activity[1], "client": clientele[0], "libclient": clientele[1], "sourceinfo": "S",
        "capinstot": str(count), "indsupinst": "O" if removed else "N", "datederinst": row["dateouv"],
        "datepremautor": row["dateautor"], "capautot": str(count), "indsupaut": "O" if removed else "N",
        "dateautor": row["dateautor"], "datemajaut": row["datemaj"], "datemajinst": row["datemaj"],
    }  # fmt: skip


# --------------------------------------------------------------------------------------------
# The files
# --------------------------------------------------------------------------------------------


def stock_text(rows: Sequence[dict]) -> str:
    """The stock: header line, structureet lines, then the geolocalisation lines."""
    structure = [_line(["structureet", *(row.get(name, "") for name in STRUCTURE_FIELDS)]) for row in rows]
    located = [row for row in rows if row["lon"] is not None]
    points = project(located)
    geolocation = [
        _line([
            "geolocalisation", row["nofinesset"], f"{x:.1f}", f"{y:.1f}",
            f"1,ATLASANTE,96,BAN,{PROJECTION_NAMES[epsg]}", GEOLOCATION_DATE,
        ])
        for row, (x, y, epsg) in zip(located, points)
    ]  # fmt: skip
    return "\n".join([STOCK_HEADER, *structure, *geolocation]) + "\n"


def equipment_text(rows: Sequence[dict], lines: Sequence[dict]) -> str:
    """The equipment extraction: header line, structureet lines (FINESS ET, EJ), equipementsocial lines."""
    social = {line["nofinesset"] for line in lines}
    structure = [
        _line(["structureet", row["nofinesset"], row["nofinessej"]]) for row in rows if row["nofinesset"] in social
    ]
    equipment = []
    for line in lines:
        fields = ["equipementsocial", *[""] * (EQUIPMENT_WIDTH - 1)]
        for name, value in line.items():
            fields[EQUIPMENT_POSITIONS[name]] = value
        equipment.append(_line(fields))
    return "\n".join([EQUIPMENT_HEADER, *structure, *equipment]) + "\n"


def project(rows: Sequence[dict]) -> list[tuple[float, float, int]]:
    """(x, y, EPSG) of each row's lon/lat in its zone's projection, as FINESS gives coordinates."""
    frame = pl.DataFrame(
        {
            "lon": [r["lon"] for r in rows],
            "lat": [r["lat"] for r in rows],
            "epsg": [ZONE_EPSG.get(insee_code(r)[:3], METROPOLITAN_EPSG) for r in rows],
        },
        schema={"lon": pl.Float64, "lat": pl.Float64, "epsg": pl.Int64},
    )
    with duckdb.connect() as con:
        con.execute("load spatial")
        return con.execute(
            """
            select st_x(point), st_y(point), epsg from (
                select epsg, st_transform(st_point(lon, lat), 'EPSG:4326', 'EPSG:' || epsg, always_xy := true) as point
                from frame
            )
            """
        ).fetchall()


def _line(fields: Sequence[str | None]) -> str:
    """One `;`-separated line; a field holding `;` or `"` is double-quoted, its quotes doubled."""
    return ";".join(_field(value or "") for value in fields)


def _field(value: str) -> str:
    return f'"{value.replace(chr(34), chr(34) * 2)}"' if (";" in value or '"' in value) else value
