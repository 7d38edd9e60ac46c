"""Sample of anct_france_services: France Services points of the sample territory (GeoJSON).

Same properties and layout as the ANCT cartography team's file (one feature per line, CRS84).
Story: the most populous commune of every EPCI hosts a labelled France Services a few hundred
metres from its town hall; one antenna in 71 and one itinerant bus stop in 974 are added;
the one in the city with arrondissements gives the arrondissement's code (6938x) as insee_com;
the bus stop has no geometry, only its LATITUDE and LONGITUDE properties; contact details
are left empty (the places are fictitious).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from pipelines.sample.territory import Commune, Territory

SOURCE = "anct_france_services"
VINTAGE = "2026"
FILE_NAME = "france_services.geojson"
CRS84 = {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}
OPENING_HOURS = "9:00 - 12:00 / 13:30 - 17:00"


def points(territory: Territory) -> list[dict]:
    """The properties of every sample point, in MATRICULE order, with the geometry's (lon, lat)
    under "_point" (None for the feature written without geometry)."""
    geography = territory.geography(VINTAGE)
    actuelles = {c.code: c for c in geography.actuelles}
    hosts = [
        max((actuelles[code] for code in epci.members), key=lambda c: (c.population, c.code))
        for epci in sorted(geography.epcis, key=lambda e: e.code)
    ]
    by_size = sorted(geography.actuelles, key=lambda c: (-c.population, c.code))
    host_codes = {c.code for c in hosts}
    antenna = next(c for c in by_size if c.departement == "71" and c.code not in host_codes)
    bus_stop = next(c for c in reversed(by_size) if c.departement == "974")
    places = [(c, "Espace labellisé", "FS", "") for c in hosts]
    places += [(antenna, "Antenne", "Antenne", ""), (bus_stop, "Espace labellisé", "FS itinerante", "Oui")]
    result = []
    for matricule, (commune, form, category, itinerant) in enumerate(places, start=1):
        rng = random.Random(f"{territory.seed}-{SOURCE}-{commune.code}-{category}")
        lon = round(commune.lon + rng.uniform(-0.004, 0.004), 6)
        lat = round(commune.lat + rng.uniform(-0.003, 0.003), 6)
        insee_com = commune.code
        if commune.code == "69123":
            insee_com = f"6938{rng.randint(1, 9)}"
        name = commune.libelle + (" - Bus itinérant" if itinerant else " - Antenne" if form == "Antenne" else "")
        properties = _properties(matricule, commune, insee_com, name, form, category, itinerant, lon, lat)
        properties["_point"] = None if itinerant else (lon, lat)
        result.append(properties)
    return result


def write(territory: Territory, dest: Path) -> list[str]:
    """Write france_services.geojson for the 2026 geography."""
    features = []
    for properties in points(territory):
        point = properties.pop("_point")
        geometry = {"type": "Point", "coordinates": list(point)} if point else None
        feature = {"type": "Feature", "properties": properties, "geometry": geometry}
        features.append(json.dumps(feature, ensure_ascii=False))
    head = f'{{\n"type": "FeatureCollection",\n"name": "france_services",\n"crs": {json.dumps(CRS84)},\n"features": [\n'
    folder = Path(dest) / SOURCE / VINTAGE
    folder.mkdir(parents=True, exist_ok=True)
    (folder / FILE_NAME).write_bytes((head + ",\n".join(features) + "\n]\n}\n").encode("utf-8"))
    return [VINTAGE]


def _properties(
    matricule: int, commune: Commune, insee_com: str, name: str, form: str, category: str, itinerant: str,
    lon: float, lat: float,
) -> dict:
    hours = "" if itinerant else OPENING_HOURS
    return {
        "MATRICULE": matricule, "DEPARTEMENT": commune.departement, "lib_france_services": name,
        "ADRESSE": f"{3 + matricule} place de la Mairie", "COMPLEMENT.D.ADRESSE": "", "insee_com": insee_com,
        "code_postal": commune.postal_codes[0], "lib_com": commune.ncc, "LATITUDE": lat, "LONGITUDE": lon,
        "CONTACT.MAIL": "", "TELEPHONE": "", "h_lundi": hours, "h_mardi": hours, "h_mercredi": hours,
        "h_jeudi": hours, "h_vendredi": hours, "h_samedi": "-", "Commentaire.horaires": "",
        "ITINERANCE": itinerant, "FORMAT_FS": form, "X._groupe": None, "Groupe": "",
        "Goupe_France_Services_responsable": None, "Goupe_Antennes": "", "Labellisation": f"{form} 01/2020",
        "categorie": category,
    }  # fmt: skip
