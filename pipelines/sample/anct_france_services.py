"""Sample of anct_france_services: France Services of the sample territory, in the national list's layout.

:func:`write` writes the current layout, the data.gouv.fr list (CSV: 24 columns, comma-
separated, text fields double-quoted, coordinates unquoted, empty fields left empty, LF)
for the 2026 vintage. :func:`write_geojson` writes the same places in the layout of the
2020 GeoJSON of the ANCT cartography team (one feature per line, CRS84); it is not part of
the sample mirror, since the sample territory has no 2020 geography, and the tests use it
to exercise that layout.

Story: the most populous commune of every EPCI hosts a labelled France Services a few hundred
metres from its town hall; one antenna in 71 and one itinerant service in 974 are added (the
list places it at its home base; in the GeoJSON it has no geometry, only its LATITUDE and
LONGITUDE properties); the one in the city with arrondissements gives the arrondissement's
code (6938x) as insee_com; contact details are left empty (the places are fictitious).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from pipelines.sample.territory import Territory

SOURCE = "anct_france_services"
VINTAGE = "2026"
FILE_NAME = "liste-structures-france-services.csv"
GEOJSON_VINTAGE = "2020"
GEOJSON_FILE_NAME = "france_services.geojson"
LIST_HEADER = (
    "id_fs", "insee_dep", "lib_fs", "adresse", "complement_adresse", "insee_com", "code_postal", "lib_com",
    "latitude", "longitude", "mail", "telephone", "h_lundi", "h_mardi", "h_mercredi", "h_jeudi", "h_vendredi",
    "h_samedi", "prise_rdv", "commentaire", "type_fs", "format_fs", "groupe_fs", "labellisation_fs",
)  # fmt: skip
CRS84 = {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}
OPENING_HOURS = "09:00 - 12:00 / 13:30 - 17:00"
# (type_fs, format_fs) of the list and (FORMAT_FS, categorie) of the GeoJSON, per kind of place.
KINDS = {
    "FS": (("Principal", "Fixe"), ("Espace labellisé", "FS")),
    "Antenne": (("Antenne", "Fixe_antenne(s)"), ("Antenne", "Antenne")),
    "FS itinerante": (("Principal", "Itinérante"), ("Espace labellisé", "FS itinerante")),
}


def points(territory: Territory) -> list[dict]:
    """The rows of the sample list (its column names), in id_fs order."""
    geography = territory.geography(VINTAGE)
    actuelles = {c.code: c for c in geography.actuelles}
    hosts = [
        max((actuelles[code] for code in epci.members), key=lambda c: (c.population, c.code))
        for epci in sorted(geography.epcis, key=lambda e: e.code)
    ]
    by_size = sorted(geography.actuelles, key=lambda c: (-c.population, c.code))
    host_codes = {c.code for c in hosts}
    antenna = next(c for c in by_size if c.departement == "71" and c.code not in host_codes)
    bus_base = next(c for c in reversed(by_size) if c.departement == "974")
    places = [(c, "FS") for c in hosts] + [(antenna, "Antenne"), (bus_base, "FS itinerante")]
    rows = []
    for number, (commune, kind) in enumerate(places, start=1):
        rng = random.Random(f"{territory.seed}-{SOURCE}-{commune.code}-{kind}")
        lon = round(commune.lon + rng.uniform(-0.004, 0.004), 6)
        lat = round(commune.lat + rng.uniform(-0.003, 0.003), 6)
        insee_com = f"6938{rng.randint(1, 9)}" if commune.code == "69123" else commune.code
        suffix = {"FS": "", "Antenne": " - Antenne", "FS itinerante": " itinérante"}[kind]
        hours = "" if kind == "FS itinerante" else OPENING_HOURS
        (type_fs, format_fs), _ = KINDS[kind]
        name = f"France services {commune.libelle}{suffix}"
        rows.append({
            "id_fs": str(number), "insee_dep": commune.departement, "lib_fs": name,
            "adresse": f"{3 + number} place de la Mairie", "complement_adresse": "", "insee_com": insee_com,
            "code_postal": commune.postal_codes[0], "lib_com": commune.libelle, "latitude": lat, "longitude": lon,
            "mail": "", "telephone": "", "h_lundi": hours, "h_mardi": hours, "h_mercredi": hours, "h_jeudi": hours,
            "h_vendredi": hours, "h_samedi": "", "prise_rdv": "Non", "commentaire": "", "type_fs": type_fs,
            "format_fs": format_fs, "groupe_fs": "", "labellisation_fs": "Espace labellisé 01/01/2020",
            "_kind": kind,
        })  # fmt: skip
    return rows


def write(territory: Territory, dest: Path) -> list[str]:
    """Write the 2026 national list (liste-structures-france-services.csv); returns ["2026"]."""
    lines = [",".join(f'"{name}"' for name in LIST_HEADER)]
    lines += [",".join(_list_field(row[name]) for name in LIST_HEADER) for row in points(territory)]
    folder = Path(dest) / SOURCE / VINTAGE
    folder.mkdir(parents=True, exist_ok=True)
    (folder / FILE_NAME).write_bytes(("\n".join(lines) + "\n").encode("utf-8"))
    return [VINTAGE]


def write_geojson(territory: Territory, dest: Path, vintage: str = GEOJSON_VINTAGE) -> Path:
    """Write the sample places as the 2020 GeoJSON (<dest>/<source>/<vintage>/france_services.geojson)."""
    features = []
    for properties in geojson_properties(territory):
        coordinates = [properties["LONGITUDE"], properties["LATITUDE"]]
        point = None if properties["ITINERANCE"] == "Oui" else {"type": "Point", "coordinates": coordinates}
        feature = {"type": "Feature", "properties": properties, "geometry": point}
        features.append(json.dumps(feature, ensure_ascii=False))
    head = f'{{\n"type": "FeatureCollection",\n"name": "france_services",\n"crs": {json.dumps(CRS84)},\n"features": [\n'
    path = Path(dest) / SOURCE / vintage / GEOJSON_FILE_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((head + ",\n".join(features) + "\n]\n}\n").encode("utf-8"))
    return path


def geojson_properties(territory: Territory) -> list[dict]:
    """The properties of each place in the 2020 GeoJSON (the itinerant one is written without geometry)."""
    result = []
    for row in points(territory):
        _, (form, category) = KINDS[row["_kind"]]
        result.append({
            "MATRICULE": int(row["id_fs"]), "DEPARTEMENT": row["insee_dep"], "lib_france_services": row["lib_fs"],
            "ADRESSE": row["adresse"], "COMPLEMENT.D.ADRESSE": "", "insee_com": row["insee_com"],
            "code_postal": row["code_postal"], "lib_com": row["lib_com"], "LATITUDE": row["latitude"],
            "LONGITUDE": row["longitude"], "CONTACT.MAIL": "", "TELEPHONE": "", "h_lundi": row["h_lundi"],
            "h_mardi": row["h_mardi"], "h_mercredi": row["h_mercredi"], "h_jeudi": row["h_jeudi"],
            "h_vendredi": row["h_vendredi"], "h_samedi": "-", "Commentaire.horaires": "",
            "ITINERANCE": "Oui" if category == "FS itinerante" else "", "FORMAT_FS": form, "X._groupe": None,
            "Groupe": "", "Goupe_France_Services_responsable": None, "Goupe_Antennes": "",
            "Labellisation": f"{form} 01/2020", "categorie": category,
        })  # fmt: skip
    return result


def _list_field(value: str | float) -> str:
    """One field of the list: numbers bare, text double-quoted, empty text as nothing."""
    if isinstance(value, float):
        return repr(value)
    return f'"{value.replace(chr(34), chr(34) * 2)}"' if value else ""
