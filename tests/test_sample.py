"""Tests of the sample generator: determinism, the territory's story and the official formats."""

import csv
import gzip
import hashlib
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from pipelines.sources.catalogue import load_catalogue
from pipelines.sample import (
    DEFAULT_SEED,
    SAMPLE_GEOGRAPHY_VINTAGES,
    SAMPLE_NOTICE,
    V_COMMUNE_HEADER,
    V_MVT_COMMUNE_HEADER,
    build_territory,
    write_sample,
)

REAL_DECOUPAGE = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "real" / "cog" / "decoupage-administratif-6.0.0"
)
COMMUNE_CODE = re.compile(r"^(\d{5}|2[AB]\d{3})$")
ARTICLES = {0: "", 1: "", 2: "Le ", 3: "La ", 4: "Les ", 5: "L'", 6: "Aux ", 7: "Las ", 8: "Los "}


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory):
    dest = tmp_path_factory.mktemp("sample")
    written = write_sample(dest)
    assert written["etalab_decoupage"] == ["2025", "2026"] and written["insee_cog"] == ["2025", "2026"]
    return dest


@pytest.fixture(scope="module", params=[DEFAULT_SEED, 7], ids=["default-seed", "seed-7"])
def territory(request):
    return build_territory(request.param)


def etalab(sample_dir: Path, vintage: str, name: str) -> list[dict]:
    return json.loads((sample_dir / "etalab_decoupage" / vintage / f"{name}.json").read_text("utf-8"))


def insee_csv(sample_dir: Path, vintage: str, name: str) -> list[dict]:
    with open(sample_dir / "insee_cog" / vintage / f"{name}_{vintage}.csv", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def actuelles(communes: list[dict]) -> dict[str, dict]:
    return {c["code"]: c for c in communes if c["type"] == "commune-actuelle"}


def luhn_valid(number: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(number)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def file_digests(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


# ---------------------------------------------------------------- determinism and layout


def test_two_writes_give_identical_bytes(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    write_sample(first)
    write_sample(second)
    digests = file_digests(first)
    assert digests == file_digests(second)
    assert {d.split("/", 1)[0] for d in digests} == set(load_catalogue())


def test_every_catalogue_source_has_sample_files_named_as_the_catalogue_says(tmp_path):
    written = write_sample(tmp_path)
    catalogue = load_catalogue()
    assert set(written) == set(catalogue)
    for source_id, vintages in written.items():
        source = catalogue[source_id]
        for vintage in vintages:
            on_disk = {p.name for p in (tmp_path / source_id / vintage).iterdir()}
            if source_id == "transport_gtfs":  # a week holds the feeds found upstream: <feed id>.zip
                assert on_disk and all(name.endswith(".zip") for name in on_disk)
                continue
            listed = {f.name for f in source.vintage(vintage).files}
            listed |= {f.name for kind in ("current_files", "past_files") for f in source.template_files(kind, vintage)}
            assert on_disk <= listed, f"{source_id} {vintage}: {on_disk - listed} not in the catalogue"


def test_build_territory_is_pure_and_depends_on_the_seed():
    assert build_territory() == build_territory()
    names = {c.name for c in build_territory().geography("2025").communes}
    other_names = {c.name for c in build_territory(7).geography("2025").communes}
    assert names != other_names


def test_sample_notice_says_the_data_is_fictitious():
    assert "fictitious" in SAMPLE_NOTICE.lower()


# ---------------------------------------------------------------- the territory


def test_communes_per_departement(territory):
    for vintage in SAMPLE_GEOGRAPHY_VINTAGES:
        counts = Counter(c.departement for c in territory.geography(vintage).actuelles)
        assert set(counts) == {"2A", "69", "71", "974", "83"}
        for departement in ("2A", "69", "71"):
            assert 60 <= counts[departement] <= 90, (vintage, departement)
        assert counts["83"] == 30
        assert 10 <= counts["974"] <= 14
        reunion = [c.code for c in territory.geography(vintage).actuelles if c.departement == "974"]
        assert all("97401" <= code <= "97424" for code in reunion)


def test_coordinates_density_and_populations(territory):
    bounds = {d.code: d.bounds for d in territory.departements}
    for vintage in SAMPLE_GEOGRAPHY_VINTAGES:
        for commune in territory.geography(vintage).communes:
            lon_min, lon_max, lat_min, lat_max = bounds[commune.departement]
            assert lon_min <= commune.lon <= lon_max and lat_min <= commune.lat <= lat_max, commune.code
            assert 1 <= commune.density_level <= 7
            if commune.population is not None:
                assert isinstance(commune.population, int) and commune.population > 0
        populations = [c.population for c in territory.geography(vintage).actuelles]
        assert sum(p < 3_500 for p in populations) > len(populations) / 2
        assert sum(10_000 <= p <= 60_000 for p in populations) >= 5


def test_populations_change_a_little_between_vintages(territory):
    before = {c.code: c.population for c in territory.geography("2025").actuelles}
    after = {c.code: c.population for c in territory.geography("2026").actuelles}
    merged = {code for m in territory.mergers for code in m.predecessors}
    for code in before.keys() - merged:
        assert abs(after[code] - before[code]) <= max(5, 0.05 * before[code]), code


# ---------------------------------------------------------------- Etalab decoupage-administratif


def test_codes_are_five_character_strings(sample_dir):
    for vintage in SAMPLE_GEOGRAPHY_VINTAGES:
        for commune in etalab(sample_dir, vintage, "communes"):
            assert isinstance(commune["code"], str) and COMMUNE_CODE.match(commune["code"]), commune
            for former in commune.get("anciensCodes", []):
                assert COMMUNE_CODE.match(former)
        codes = {c["code"] for c in etalab(sample_dir, vintage, "communes")}
        assert {"2A004", "71270", "69123", "97411"} <= codes
        for row in insee_csv(sample_dir, vintage, "v_commune"):
            assert COMMUNE_CODE.match(row["COM"])


def test_city_with_arrondissements(sample_dir):
    expected = [f"6938{n}" for n in range(1, 10)]
    for vintage in SAMPLE_GEOGRAPHY_VINTAGES:
        communes = etalab(sample_dir, vintage, "communes")
        arrondissements = [c for c in communes if c["type"] == "arrondissement-municipal"]
        assert [a["code"] for a in arrondissements] == expected
        assert all(a["commune"] == "69123" for a in arrondissements)
        city = actuelles(communes)["69123"]
        assert city["population"] == sum(a["population"] for a in arrondissements)
        assert sorted(city["codesPostaux"]) == [f"6900{n}" for n in range(1, 10)]
        rows = [r for r in insee_csv(sample_dir, vintage, "v_commune") if r["TYPECOM"] == "ARM"]
        assert [r["COM"] for r in rows] == expected
        assert all(r["COMPARENT"] == "69123" and r["CTCD"] == "69M" for r in rows)


def test_mergers_of_2026(sample_dir):
    before = actuelles(etalab(sample_dir, "2025", "communes"))
    communes_2026 = etalab(sample_dir, "2026", "communes")
    after = actuelles(communes_2026)
    disappeared = sorted(before.keys() - after.keys())
    assert after.keys() <= before.keys()  # no new code: only mergers

    absorbed_by = {}
    for code in disappeared:
        absorbers = [c for c in after.values() if code in c.get("anciensCodes", [])]
        assert len(absorbers) == 1, code
        absorbed_by[code] = absorbers[0]["code"]
    new_communes = Counter(absorbed_by.values())
    assert len(new_communes) >= 2
    assert 2 in new_communes.values()  # one commune nouvelle made of three communes

    deleguees = {(c["code"], c["chefLieu"]) for c in communes_2026 if c["type"] == "commune-deleguee"}
    movements = insee_csv(sample_dir, "2026", "v_mvt_commune")
    for new_code in new_communes:
        predecessors = [new_code] + [c for c, n in absorbed_by.items() if n == new_code]
        for code in predecessors:
            assert (code, new_code) in deleguees
            rows = [m for m in movements if m["COM_AV"] == code and m["DATE_EFF"] == "2026-01-01"]
            assert {(m["MOD"], m["TYPECOM_AP"], m["COM_AP"]) for m in rows} == {
                ("32", "COM", new_code), ("32", "COMD", code)}
        # The chef-lieu's code appears twice: the commune nouvelle and its commune déléguée.
        assert [c["type"] for c in communes_2026 if c["code"] == new_code] == [
            "commune-actuelle", "commune-deleguee"]
        expected = sum(before[code]["population"] for code in predecessors)
        assert abs(after[new_code]["population"] - expected) <= 0.05 * expected
        assert after[new_code]["siren"] != before[new_code]["siren"]


def test_deleguee_and_associee_of_earlier_years_are_unchanged(sample_dir):
    def attached(vintage):
        return [c for c in etalab(sample_dir, vintage, "communes")
                if c["type"] in ("commune-deleguee", "commune-associee")]

    before = attached("2025")
    assert {c["type"] for c in before} == {"commune-deleguee", "commune-associee"}
    after = attached("2026")
    assert all(c in after for c in before)
    parents = actuelles(etalab(sample_dir, "2026", "communes"))
    for entry in before:
        if entry["code"] != entry["chefLieu"]:
            assert entry["code"] in parents[entry["chefLieu"]]["anciensCodes"]


def test_every_commune_is_in_exactly_one_epci(sample_dir):
    for vintage in SAMPLE_GEOGRAPHY_VINTAGES:
        communes = actuelles(etalab(sample_dir, vintage, "communes"))
        epcis = etalab(sample_dir, vintage, "epci")
        memberships = Counter(m["code"] for e in epcis for m in e["membres"])
        assert set(memberships) == set(communes)
        assert set(memberships.values()) == {1}
        for epci in epcis:
            assert re.match(r"^\d{9}$", epci["code"]) and luhn_valid(epci["code"])
            assert epci["type"] in {"CC", "CA", "CU", "METRO", "MET69"}
            assert epci["populationMunicipale"] == sum(m["populationMunicipale"] for m in epci["membres"])
            assert epci["populationTotale"] == sum(m["populationTotale"] for m in epci["membres"])
            for member in epci["membres"]:
                commune = communes[member["code"]]
                assert (member["nom"], member["siren"], member["populationMunicipale"]) == (
                    commune["nom"], commune["siren"], commune["population"])
        per_departement = Counter(communes[e["membres"][0]["code"]]["departement"] for e in epcis)
        assert all(3 <= n <= 5 for n in per_departement.values())
        for epci in epcis:
            assert len({communes[m["code"]]["departement"] for m in epci["membres"]}) == 1
        assert all(luhn_valid(c["siren"]) for c in communes.values())


def test_departements_and_regions_are_the_real_ones(sample_dir):
    departements = {d["code"]: (d["nom"], d["region"]) for d in etalab(sample_dir, "2026", "departements")}
    assert departements == {
        "2A": ("Corse-du-Sud", "94"),
        "69": ("Rhône", "84"),
        "71": ("Saône-et-Loire", "27"),
        "974": ("La Réunion", "04"),
        "83": ("Var", "93"),
    }
    regions = {r["code"]: r["nom"] for r in etalab(sample_dir, "2026", "regions")}
    assert regions == {"04": "La Réunion", "27": "Bourgogne-Franche-Comté",
                       "84": "Auvergne-Rhône-Alpes", "93": "Provence-Alpes-Côte d'Azur", "94": "Corse"}


@pytest.mark.real_data
def test_field_names_match_the_real_etalab_files(sample_dir):
    if not REAL_DECOUPAGE.is_dir():
        pytest.skip(f"real Etalab files not found in {REAL_DECOUPAGE} (../shared/data/real is absent)")

    def key_orders(records, kind=lambda r: r.get("type")):
        orders: dict = {}
        for record in records:
            orders.setdefault(kind(record), set()).add(tuple(record))
        return orders

    for name in ("communes", "epci", "departements", "regions"):
        with gzip.open(REAL_DECOUPAGE / f"{name}.json.gz", "rt", encoding="utf-8") as f:
            real_records = json.load(f)
        real = key_orders(real_records)
        for vintage in SAMPLE_GEOGRAPHY_VINTAGES:
            sample_records = etalab(sample_dir, vintage, name)
            for kind, orders in key_orders(sample_records).items():
                assert orders <= real[kind], (name, vintage, kind, orders - real[kind])
            if name == "epci":
                real_members = {tuple(m) for e in real_records for m in e["membres"]}
                sample_members = {tuple(m) for e in sample_records for m in e["membres"]}
                assert sample_members <= real_members


def test_json_layout_is_one_compact_object_per_line(sample_dir):
    text = (sample_dir / "etalab_decoupage" / "2026" / "communes.json").read_text("utf-8")
    lines = text.split("\n")
    assert lines[0] == "[" and lines[-2:] == ["]", ""]
    assert all(line.startswith("{") for line in lines[1:-2])
    assert "é" in text or "è" in text  # ensure_ascii=False


# ---------------------------------------------------------------- INSEE COG


def test_v_commune_format(sample_dir):
    for vintage in SAMPLE_GEOGRAPHY_VINTAGES:
        path = sample_dir / "insee_cog" / vintage / f"v_commune_{vintage}.csv"
        assert path.read_text("utf-8").split("\n", 1)[0] == ",".join(V_COMMUNE_HEADER)
        rows = insee_csv(sample_dir, vintage, "v_commune")
        assert {r["TYPECOM"] for r in rows} == {"COM", "COMD", "COMA", "ARM"}
        names = {(c["code"], c["type"]): c["nom"] for c in etalab(sample_dir, vintage, "communes")}
        etalab_type = {"COM": "commune-actuelle", "COMD": "commune-deleguee",
                       "COMA": "commune-associee", "ARM": "arrondissement-municipal"}
        for row in rows:
            assert row["NCC"] == row["NCC"].upper() and row["NCC"].isascii()
            assert "-" not in row["NCC"] and "'" not in row["NCC"]
            assert row["LIBELLE"] == ARTICLES[int(row["TNCC"])] + row["NCCENR"]
            assert names[(row["COM"], etalab_type[row["TYPECOM"]])] == row["LIBELLE"]
            if row["TYPECOM"] == "COM":
                assert row["COMPARENT"] == ""
                assert row["CTCD"] in {"20R", "69D", "69M", "71D", "974D", "83D"}
                assert row["REG"] and row["DEP"] and row["ARR"]
                assert (row["CAN"] == "") == (row["CTCD"] == "69M")
            else:
                assert row["COMPARENT"] and row["CAN"] == ""
            if row["TYPECOM"] in ("COMD", "COMA"):
                assert row["REG"] == row["DEP"] == row["CTCD"] == row["ARR"] == ""


def test_v_mvt_commune_files(sample_dir):
    for vintage in SAMPLE_GEOGRAPHY_VINTAGES:
        path = sample_dir / "insee_cog" / vintage / f"v_mvt_commune_{vintage}.csv"
        assert path.read_text("utf-8").split("\n", 1)[0] == ",".join(V_MVT_COMMUNE_HEADER)
        rows = insee_csv(sample_dir, vintage, "v_mvt_commune")
        dates = [r["DATE_EFF"] for r in rows]
        assert dates == sorted(dates, reverse=True) and dates[0] <= f"{vintage}-01-01"
        for row in rows:
            for side in ("AV", "AP"):
                tncc = int(row[f"TNCC_{side}"])
                assert row[f"LIBELLE_{side}"] == ARTICLES[tncc] + row[f"NCCENR_{side}"]
    older = insee_csv(sample_dir, "2025", "v_mvt_commune")
    newer = insee_csv(sample_dir, "2026", "v_mvt_commune")
    assert newer[len(newer) - len(older):] == older
    assert {r["MOD"] for r in newer if r["DATE_EFF"] == "2026-01-01"} == {"32"}
