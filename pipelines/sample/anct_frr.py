"""Sample of anct_frr: the France Ruralités Revitalisation list of July 2025 for the sample territory.

FRR replaced the ZRR (see the anct_zrr sample) in 2024, decided for whole EPCI with stricter
thresholds. The story, on the 2025 sample communes:

* communes of the most rural EPCI (mean density level at least :data:`FRR_PLUS_EPCI_LEVEL`)
  are "FRR+", those of the next ones (at least :data:`FRR_EPCI_LEVEL`) "FRR socle", urban
  centres (density levels 1 and 2) excepted;
* a commune classified in ZRR whose EPCI did not make it into FRR is "FRR bénéficiaire"
  (it keeps the benefits), or "FRR bénéficiaire partiellement" when it was only partly in
  ZRR (the Hauts of La Réunion);
* the commune nouvelle of 2017 is "Classée FRR partiellement";
* every other commune is "Non classée": no commune outside the ZRR enters the FRR here.
"""

from __future__ import annotations

from pathlib import Path

from pipelines.sample.anct_zrr import GEOGRAPHY, commune_nouvelle_2017, epci_mean_levels, zrr_classes
from pipelines.sample.territory import Territory

SOURCE = "anct_frr"
VINTAGE = "2025"
FILE_NAME = "liste-communes-FRR-juillet2025.csv"
HEADER = ("Code_insee", "Departement", "Commune", "Classement FRR et FRR+ au 10 juillet 2025")
FRR_PLUS_EPCI_LEVEL = 6.0
FRR_EPCI_LEVEL = 5.7


def frr_labels(territory: Territory) -> dict[str, str]:
    """FRR label of every 2025 commune (see the module's story)."""
    geography = territory.geography(GEOGRAPHY)
    means = epci_mean_levels(geography)
    zrr = zrr_classes(territory)
    partial = commune_nouvelle_2017(geography)
    labels = {}
    for commune in geography.actuelles:
        mean = means[commune.epci]
        urban = commune.density_level <= 2
        if commune.code == partial:
            labels[commune.code] = "Classée FRR partiellement"
        elif mean >= FRR_PLUS_EPCI_LEVEL and not urban:
            labels[commune.code] = "FRR+"
        elif mean >= FRR_EPCI_LEVEL and not urban:
            labels[commune.code] = "FRR socle"
        elif zrr[commune.code] == "C":
            labels[commune.code] = "FRR bénéficiaire"
        elif zrr[commune.code] == "P":
            labels[commune.code] = "FRR bénéficiaire partiellement"
        else:
            labels[commune.code] = "Non classée"
    return labels


def write(territory: Territory, dest: Path) -> list[str]:
    """Write the July 2025 list: `;`-separated UTF-8, CRLF, each line ending with ';'. Returns ["2025"]."""
    labels = frr_labels(territory)
    lines = [";".join(HEADER) + ";"]
    for commune in territory.geography(GEOGRAPHY).actuelles:
        lines.append(f"{commune.code};{commune.departement};{commune.libelle};{labels[commune.code]};")
    folder = Path(dest) / SOURCE / VINTAGE
    folder.mkdir(parents=True, exist_ok=True)
    (folder / FILE_NAME).write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8"))
    return [VINTAGE]
