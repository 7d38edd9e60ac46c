"""Sample of anct_centres: the ACV and PVD communes of the sample territory, in the ANCT layouts.

Three vintages, as the catalogue lists them (the territory has no 2021 or 2024 geography:
its 2025 communes stand in for those of every list):

* 2021, ``pvd_carte-interactive_20200122.csv``: the first PVD list of the ANCT map (quoted
  CSV written by R, NA for the empty regroupement, the mayors' columns filled with
  fictitious names and e-mail addresses for one commune in two, and the publisher's test row
  999999 "Trifouilly-les-Oies");
* 2024, ``coeurdeville.js``: the ACV map of April 2024 (a JavaScript assignment of a
  GeoJSON, insee_com a JSON number, or a string for the Corsican codes);
* 2025, ``liste-acv-com2025-20250704.csv`` and ``liste-pvd-com2025-20260427.csv``: the
  data.gouv.fr lists (ACV dates DD-MM-YYYY, PVD dates DD/MM/YYYY).

The story, by rule on the 2025 communes:

* ACV (Action cœur de ville): the second- and third-largest communes of 71 (its two towns
  after the chef-lieu), the largest commune of 2A after its chef-lieu, and the second-largest
  commune of 974 and of 83; ids ACV001… in the order of their names; the same five in 2024
  and 2025;
* PVD (Petites villes de demain): among the towns of 2,000–9,000 inhabitants of 71, 69, 2A
  and 83 outside the métropole of 69 (ctcd 69M) and not ACV, the two of 71 closest to each
  other within one EPCI make a joint application sharing one id_pvd, and every other one is
  drawn with probability 1/2 (seeded); no village (under 2,000 inhabitants) is PVD. ids are
  pvd-<région>-<département>-<n>, n following the codes within the département. In 2021 the
  communes of 83 have no id_pvd yet (the real first list leaves a third empty); the 2025 list
  adds the largest candidate left out in 2021 (a later designation).
"""

from __future__ import annotations

import csv
import io
import json
import math
import random
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

from pipelines.sample.territory import Commune, Territory

SOURCE = "anct_centres"
GEOGRAPHY = "2025"
PVD_FIRST_VINTAGE, ACV_MAP_VINTAGE, LISTS_VINTAGE = "2021", "2024", "2025"
PVD_FIRST_FILE = "pvd_carte-interactive_20200122.csv"
ACV_MAP_FILE = "coeurdeville.js"
ACV_LIST_FILE = "liste-acv-com2025-20250704.csv"
PVD_LIST_FILE = "liste-pvd-com2025-20260427.csv"
PVD_FIRST_HEADER = (
    "id_pvd", "insee_com", "lib_com", "lib_reg", "insee_dep", "lib_dep", "nom_maire", "mel_mairie", "site_mairie",
    "regroupement", "pop", "date_signature", "siren_epci", "lib_epci",
)  # fmt: skip
ACV_LIST_HEADER = ("insee_com", "lib_com", "id_acv", "lib_acv", "date_signature")
PVD_LIST_HEADER = ("insee_com", "lib_com", "id_pvd", "date_signature")
# The publisher's test row of the first PVD list, as it stands in the real file.
PLACEHOLDER_ROW = ("pvd_0001", "999999", "Trifouilly-les-Oies", "Région", "99", "Département", "", "", "", "NA",
                   "999999", "01/2021", "NA", "NA")  # fmt: skip
UNQUOTED = ("regroupement", "pop")  # R writes numbers and NA bare, text quoted
PVD_DEPARTEMENTS = ("71", "69", "2A", "83")
PVD_POPULATION = (2_000, 9_000)
METROPOLE_CTCD = "69M"
NO_FIRST_ID_DEPARTEMENT = "83"
PVD_SHARE = 0.5


def acv_communes(territory: Territory) -> list[Commune]:
    """The ACV communes of the story, in the order of their ids (their names)."""
    chosen = []
    for departement, ranks in (("71", (1, 2)), ("2A", (1,)), ("974", (1,)), ("83", (1,))):
        by_size = _by_size(territory, departement)
        chosen += [by_size[rank] for rank in ranks if rank < len(by_size)]
    return sorted(chosen, key=lambda c: (c.name, c.code))


def acv_ids(territory: Territory) -> dict[str, str]:
    """id_acv of each ACV commune, by code."""
    return {c.code: f"ACV{number:03d}" for number, c in enumerate(acv_communes(territory), start=1)}


def pvd_ids(territory: Territory, vintage: str) -> dict[str, str]:
    """id_pvd of each PVD commune of a list (2021 or 2025), by code; '' when the list gives none.

    Applications are numbered within their département in the order of their codes (the
    joint one by its first code), the later designation last.
    """
    first, later = _pvd_choice(territory)
    joint = _joint_application(territory)

    def application(commune: Commune) -> str:  # the code an application is known by: its first
        return joint[0] if commune.code in joint else commune.code

    by_application = {application(c): c for c in sorted(first, key=lambda c: c.code, reverse=True)}
    ordered = [by_application[code] for code in sorted(by_application)] + ([later] if later else [])
    per_departement: Counter[str] = Counter()
    numbers = {}
    for commune in ordered:
        per_departement[commune.departement] += 1
        numbers[commune.code] = f"pvd-{commune.region}-{commune.departement}-{per_departement[commune.departement]}"
    members = first + ([later] if later and vintage == LISTS_VINTAGE else [])
    ids = {c.code: numbers[application(c)] for c in members}
    if vintage == PVD_FIRST_VINTAGE:
        ids = {code: ("" if code.startswith(NO_FIRST_ID_DEPARTEMENT) else pvd_id) for code, pvd_id in ids.items()}
    return dict(sorted(ids.items()))


def write(territory: Territory, dest: Path) -> list[str]:
    """Write the three vintages (2021 first PVD list, 2024 ACV map, 2025 data.gouv.fr lists)."""
    communes = {c.code: c for c in territory.geography(GEOGRAPHY).actuelles}
    epci_names = {e.code: e.nom for e in territory.geography(GEOGRAPHY).epcis}
    _folder(dest, PVD_FIRST_VINTAGE).joinpath(PVD_FIRST_FILE).write_bytes(
        _first_pvd_list(territory, communes, epci_names)
    )
    _folder(dest, ACV_MAP_VINTAGE).joinpath(ACV_MAP_FILE).write_bytes(_acv_map(territory))
    lists = _folder(dest, LISTS_VINTAGE)
    acv = acv_ids(territory)
    lists.joinpath(ACV_LIST_FILE).write_bytes(_csv([ACV_LIST_HEADER, *(
        (code, communes[code].libelle, acv_id, communes[code].libelle, _signed(territory, code, "acv", "%d-%m-%Y"))
        for code, acv_id in sorted(acv.items())
    )]))  # fmt: skip
    lists.joinpath(PVD_LIST_FILE).write_bytes(_csv([PVD_LIST_HEADER, *(
        (code, communes[code].libelle, pvd_id, _signed(territory, code, "pvd", "%d/%m/%Y"))
        for code, pvd_id in sorted(pvd_ids(territory, LISTS_VINTAGE).items())
    )]))  # fmt: skip
    return [PVD_FIRST_VINTAGE, ACV_MAP_VINTAGE, LISTS_VINTAGE]


def _by_size(territory: Territory, departement: str) -> list[Commune]:
    communes = [c for c in territory.geography(GEOGRAPHY).actuelles if c.departement == departement]
    return sorted(communes, key=lambda c: (-c.population, c.code))


def _pvd_candidates(territory: Territory) -> list[Commune]:
    """Towns of 2,000–9,000 inhabitants of the PVD départements, outside the métropole, not ACV."""
    acv = {c.code for c in acv_communes(territory)}
    low, high = PVD_POPULATION
    return [
        c for c in territory.geography(GEOGRAPHY).actuelles
        if c.departement in PVD_DEPARTEMENTS and low <= c.population <= high and c.ctcd != METROPOLE_CTCD
        and c.code not in acv
    ]  # fmt: skip


def _joint_application(territory: Territory) -> tuple[str, ...]:
    """The codes of the joint application: the two candidates of 71 closest to each other in one EPCI."""
    candidates = [c for c in _pvd_candidates(territory) if c.departement == "71"]
    pairs = [(a, b) for a in candidates for b in candidates if a.code < b.code and a.epci == b.epci]
    if not pairs:
        return ()
    a, b = min(pairs, key=lambda p: (math.hypot(p[0].lon - p[1].lon, p[0].lat - p[1].lat), p[0].code))
    return (a.code, b.code)


def _pvd_choice(territory: Territory) -> tuple[list[Commune], Commune | None]:
    """(the PVD of the first list, the one added later or None)."""
    joint = _joint_application(territory)
    first, left_out = [], []
    for commune in _pvd_candidates(territory):
        drawn = random.Random(f"{territory.seed}-{SOURCE}-pvd-{commune.code}").random() < PVD_SHARE
        (first if commune.code in joint or drawn else left_out).append(commune)
    later = min(left_out, key=lambda c: (-c.population, c.code)) if left_out else None
    return first, later


def _first_pvd_list(territory: Territory, communes: dict[str, Commune], epci_names: dict[str, str]) -> bytes:
    """The 2021 list: every field quoted but NA and pop, as R's write.csv writes them; the EPCI
    codes of the sample are their SIREN numbers."""
    regions = {r.code: r.nom for r in territory.regions}
    departements = {d.code: d.nom for d in territory.departements}
    rows = []
    for index, (code, pvd_id) in enumerate(sorted(pvd_ids(territory, PVD_FIRST_VINTAGE).items())):
        commune = communes[code]
        mayor, mail = ("Maire fictif", f"mairie@{code.lower()}.example") if index % 2 == 0 else ("", "")
        rows.append((
            pvd_id, code, commune.libelle, regions[commune.region], commune.departement,
            departements[commune.departement], mayor, mail, "", "NA", str(commune.population), "",
            commune.epci, epci_names[commune.epci],
        ))  # fmt: skip
    rows.insert(len(rows) // 2, PLACEHOLDER_ROW)
    lines = [",".join(f'"{name}"' for name in PVD_FIRST_HEADER)]
    for row in rows:
        lines.append(",".join(
            value if name in UNQUOTED or value == "NA" else '"' + value.replace('"', '""') + '"'
            for name, value in zip(PVD_FIRST_HEADER, row)
        ))  # fmt: skip
    return ("\n".join(lines) + "\n").encode("utf-8")


def _acv_map(territory: Territory) -> bytes:
    """The April 2024 ACV map: `var JS_coeurdeville = ` and the GeoJSON, two-space indented."""
    ids = acv_ids(territory)
    regions = {r.code: r.nom for r in territory.regions}
    features = []
    for commune in acv_communes(territory):
        numeric = commune.code.isdigit()
        features.append({
            "type": "Feature",
            "properties": {
                "insee_com": int(commune.code) if numeric else commune.code,
                "id_acv": ids[commune.code],
                "lib_com": commune.libelle,
                "lib_com_carto": commune.libelle.replace("-", " "),
                "iso_territoire_2": "FR",
                "pop": commune.population,
                "insee_dep": int(commune.departement) if numeric else commune.departement,
                "insee_reg": int(commune.region),
                "siren_epci": int(commune.epci),
                "lib_reg": regions[commune.region],
            },
            "geometry": {"type": "Point", "coordinates": [round(commune.lon, 4), round(commune.lat, 4)]},
        })  # fmt: skip
    collection = {"type": "FeatureCollection", "features": features}
    return ("var JS_coeurdeville = " + json.dumps(collection, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _signed(territory: Territory, code: str, programme: str, form: str) -> str:
    """A signing date drawn for the commune: 2023–2024 for the ACV conventions, 2021–2022 for PVD."""
    start = date(2023, 9, 1) if programme == "acv" else date(2021, 2, 1)
    days = random.Random(f"{territory.seed}-{SOURCE}-{programme}-signed-{code}").randrange(480)
    return (start + timedelta(days=days)).strftime(form)


def _csv(rows: list[tuple]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _folder(dest: Path, vintage: str) -> Path:
    folder = Path(dest) / SOURCE / vintage
    folder.mkdir(parents=True, exist_ok=True)
    return folder
