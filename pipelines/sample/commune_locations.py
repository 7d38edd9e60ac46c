"""Sample of commune_locations: data.gouv.fr's communes-france CSV for the sample territory."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from pipelines.sample.territory import Territory

SOURCE = "commune_locations"
VINTAGE = "2026"
HEADER = [
    "code_insee", "nom_standard", "typecom", "dep_code", "reg_code", "epci_code", "population",
    "latitude_mairie", "longitude_mairie", "latitude_centre", "longitude_centre",
]  # fmt: skip


def write(territory: Territory, dest: Path) -> list[str]:
    """Town hall and centre of every 2026 commune (the centre a little off the town hall)."""
    rows = []
    for commune in territory.geography(VINTAGE).actuelles:
        rows.append([
            commune.code, commune.libelle, "COM", commune.departement, commune.region, commune.epci or "",
            commune.population, f"{commune.lat:.5f}", f"{commune.lon:.5f}",
            f"{commune.lat + 0.004:.5f}", f"{commune.lon - 0.003:.5f}",
        ])  # fmt: skip
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    folder = Path(dest) / SOURCE / VINTAGE
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"communes-france-{VINTAGE}.csv").write_bytes(buffer.getvalue().encode("utf-8"))
    return [VINTAGE]
