"""Sample of sncf_stations: SNCF's "Liste des gares" (`;` CSV, UTF-8) for the sample territory.

Story: the city of 69123 has two passenger stations (in its 2nd and 3rd arrondissements,
but the list names the commune, as SNCF does); a main line runs from the north of 71
through its préfecture 71270 and the north of 69 to that city; a branch in 71 has a small
halt; one station of 71 is freight only. Corse-du-Sud (no national rail network there)
and La Réunion (no railway) have no station. The TER sample of transport_gtfs serves the
same passenger stations, with stop ids built from the same UIC codes.
"""

from __future__ import annotations

import csv
import io
import json
import math
import random
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path

from pipelines.sample.territory import Commune, Territory

SOURCE = "sncf_stations"
VINTAGE = "2026"
FILE_NAME = "liste-des-gares.csv"
HEADER = [
    "CODE_UIC", "LIBELLE", "FRET", "VOYAGEURS", "CODE_LIGNE", "RG_TRONCON", "PK", "COMMUNE", "DEPARTEMEN",
    "IDRESEAU", "IDGAIA", "X_L93", "Y_L93", "X_WGS84", "Y_WGS84", "C_GEO", "GEO_POINT", "GEO_SHAPE",
]  # fmt: skip
MAIN_LINE, BRANCH_LINE, FREIGHT_LINE = "830000", "064000", "790000"
_DEPARTEMENT_NAMES = {"69": "RHONE", "71": "SAONE-ET-LOIRE"}


@dataclass(frozen=True)
class Station:
    """One station of the sample list; `commune_code` is where it stands (never written to the file)."""

    uic: str
    name: str
    commune_code: str
    commune_name: str
    departement: str
    line: str
    pk_metres: int
    passengers: bool
    freight: bool
    lon: float
    lat: float


def sample_stations(territory: Territory) -> list[Station]:
    """The stations of the 2026 sample territory, main line first (north to south), then the branch."""
    geography = territory.geography(VINTAGE)
    actuelles = geography.actuelles
    city = geography.commune("69123")

    def largest(departement: str, count: int, exclude: set[str]) -> list[Commune]:
        found = [c for c in actuelles if c.departement == departement and c.code not in exclude]
        return sorted(found, key=lambda c: (-c.population, c.code))[:count]

    in_71 = [geography.commune("71270"), *largest("71", 2, {"71270"})]
    in_69 = largest("69", 2, {"69123"})
    main = sorted(in_71 + in_69, key=lambda c: -c.lat)
    # The branch leaves the main line at the préfecture towards the next town of 71.
    branch_town = largest("71", 3, {"71270"})[2]
    villages = [c for c in actuelles if c.departement == "71" and c.density_level >= 6]
    halt = min(villages, key=lambda c: _km(c, branch_town) + _km(c, geography.commune("71270")))
    used = {c.code for c in (*main, halt, branch_town)}
    towns = [c for c in actuelles if c.departement == "71" and c.density_level in (3, 4) and c.code not in used]
    freight = min(towns, key=lambda c: c.code)

    stations: list[Station] = []
    pk = 312_000
    previous = None
    for commune in main:
        if previous is not None:
            pk += round(_km(previous, commune) * 1000)
        stations.append(_station(territory, commune, commune.libelle, MAIN_LINE, pk, commune))
        previous = commune
    last_km = _km(previous, city)
    stations.append(_station(territory, geography.commune("69383"), f"{city.libelle}-Centre", MAIN_LINE,
                             pk + round(last_km * 1000), city))
    stations.append(_station(territory, geography.commune("69382"), f"{city.libelle}-Sud", MAIN_LINE,
                             pk + round(last_km * 1000) + 2_400, city))
    pk, previous = 41_000, geography.commune("71270")
    for commune in (halt, branch_town):
        pk += round(_km(previous, commune) * 1000)
        stations.append(_station(territory, commune, commune.libelle, BRANCH_LINE, pk, commune))
        previous = commune
    stations.append(_station(territory, freight, f"{freight.libelle}-Triage", FREIGHT_LINE, 97_350, freight,
                             passengers=False))
    return stations


def write(territory: Territory, dest: Path) -> list[str]:
    """Write liste-des-gares.csv for 2026, in the layout of SNCF's export with labels."""
    rows = [_row(territory, s) for s in sorted(sample_stations(territory), key=lambda s: (s.uic, s.line))]
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    folder = Path(dest) / SOURCE / VINTAGE
    folder.mkdir(parents=True, exist_ok=True)
    (folder / FILE_NAME).write_bytes(buffer.getvalue().encode("utf-8"))
    return [VINTAGE]


def _station(territory: Territory, place: Commune, name: str, line: str, pk: int, commune: Commune,
             *, passengers: bool = True) -> Station:
    rng = random.Random(f"{territory.seed}-{SOURCE}-{name}")
    # UIC codes: 87 (France), then six digits; the real ones end with a check digit, not modelled here.
    uic = f"87{rng.randrange(100_000, 800_000):06d}"
    return Station(
        uic=uic, name=name, commune_code=commune.code, commune_name=commune.libelle,
        departement=commune.departement, line=line, pk_metres=pk, passengers=passengers,
        freight=not passengers or rng.random() < 0.4,
        lon=round(place.lon + rng.uniform(-0.006, 0.006), 6), lat=round(place.lat + rng.uniform(-0.004, 0.004), 6),
    )  # fmt: skip


def _row(territory: Territory, s: Station) -> list:
    rng = random.Random(f"{territory.seed}-{SOURCE}-ids-{s.uic}")
    x, y = lambert93(s.lon, s.lat)
    point = f"{s.lat}, {s.lon}"
    shape = json.dumps({"coordinates": [s.lon, s.lat], "type": "Point"})
    return [
        s.uic, s.name, "O" if s.freight else "N", "O" if s.passengers else "N", s.line, "1",
        f"{s.pk_metres // 1000:03d}+{s.pk_metres % 1000:03d}", _upper_name(s.commune_name),
        _DEPARTEMENT_NAMES[s.departement], str(rng.randrange(100_000, 999_999)),
        str(uuid.UUID(int=rng.getrandbits(128), version=4)), f"{x:.1f}", f"{y:.1f}", f"{s.lon}", f"{s.lat}",
        point, point, shape,
    ]  # fmt: skip


def lambert93(lon: float, lat: float) -> tuple[float, float]:
    """WGS84 degrees → Lambert 93 metres (EPSG:2154, conformal conic on GRS80)."""
    a, e = 6_378_137.0, 0.0818191910428158
    lat1, lat2, lat0, lon0 = map(math.radians, (44.0, 49.0, 46.5, 3.0))

    def m(phi: float) -> float:
        return math.cos(phi) / math.sqrt(1 - (e * math.sin(phi)) ** 2)

    def t(phi: float) -> float:
        return math.tan(math.pi / 4 - phi / 2) / ((1 - e * math.sin(phi)) / (1 + e * math.sin(phi))) ** (e / 2)

    n = (math.log(m(lat1)) - math.log(m(lat2))) / (math.log(t(lat1)) - math.log(t(lat2)))
    f = m(lat1) / (n * t(lat1) ** n)
    rho0, rho = a * f * t(lat0) ** n, a * f * t(math.radians(lat)) ** n
    theta = n * (math.radians(lon) - lon0)
    return 700_000 + rho * math.sin(theta), 6_600_000 + rho0 - rho * math.cos(theta)


def _upper_name(name: str) -> str:
    """Commune name as the station list writes it: upper case, no accents, hyphens kept."""
    plain = "".join(ch for ch in unicodedata.normalize("NFKD", name) if not unicodedata.combining(ch))
    return plain.upper()


def _km(first: Commune, second: Commune) -> float:
    """Great-circle distance between two town halls."""
    lat1, lat2 = math.radians(first.lat), math.radians(second.lat)
    dlat, dlon = lat2 - lat1, math.radians(second.lon - first.lon)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))
