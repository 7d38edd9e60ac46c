"""Sample of commune_locations: data.gouv.fr's communes-france CSV for the sample territory."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from pipelines.sample.territory import Territory

SOURCE = "commune_locations"
VINTAGE = "2026"
# data.gouv.fr's layout (communes-france-2025.csv): an unnamed index column, then these.
HEADER = [
    "", "code_insee", "nom_standard", "nom_sans_pronom", "nom_a", "nom_de", "nom_sans_accent",
    "nom_standard_majuscule", "typecom", "typecom_texte", "reg_code", "reg_nom", "dep_code", "dep_nom",
    "canton_code", "canton_nom", "epci_code", "epci_nom", "academie_code", "academie_nom", "code_postal",
    "codes_postaux", "zone_emploi", "code_insee_centre_zone_emploi", "code_unite_urbaine", "nom_unite_urbaine",
    "taille_unite_urbaine", "type_commune_unite_urbaine", "statut_commune_unite_urbaine", "population",
    "superficie_hectare", "superficie_km2", "densite", "altitude_moyenne", "altitude_minimale",
    "altitude_maximale", "latitude_mairie", "longitude_mairie", "latitude_centre", "longitude_centre",
    "grille_densite", "grille_densite_texte", "niveau_equipements_services", "niveau_equipements_services_texte",
    "gentile", "url_wikipedia", "url_villedereve",
]  # fmt: skip
# Cities with arrondissements municipaux have no centre in the real file (only the town hall).
CITIES_WITHOUT_CENTRE = ("75056", "69123", "13055")


def write(territory: Territory, dest: Path) -> list[str]:
    """Town hall and centre of every 2026 commune (the centre a little off the town hall)."""
    rows = []
    for index, commune in enumerate(territory.geography(VINTAGE).actuelles):
        centre = ("", "") if commune.code in CITIES_WITHOUT_CENTRE else (
            f"{commune.lat + 0.004:.5f}", f"{commune.lon - 0.003:.5f}"
        )
        known = {
            "": index, "code_insee": commune.code, "nom_standard": commune.libelle, "typecom": "COM",
            "typecom_texte": "commune", "reg_code": commune.region, "dep_code": commune.departement,
            "epci_code": commune.epci or "", "population": commune.population,
            "latitude_mairie": f"{commune.lat:.5f}", "longitude_mairie": f"{commune.lon:.5f}",
            "latitude_centre": centre[0], "longitude_centre": centre[1], "grille_densite": commune.density_level,
        }  # fmt: skip
        rows.append([known.get(column, "") for column in HEADER])
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    folder = Path(dest) / SOURCE / VINTAGE
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"communes-france-{VINTAGE}.csv").write_bytes(buffer.getvalue().encode("utf-8"))
    return [VINTAGE]
