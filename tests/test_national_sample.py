"""The national sample (`territoires sample`): a generated France in the layouts the readers accept.

The territory is checked at full size (it takes under a second); the files are written at
scale 0.01 (about 450 communes, every département) and each vintage goes through the real
fetch → parse → validate → load path from the folder mirror.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.sample.national import national_writers, write_national
from pipelines.sample.national.facts import PLM_CITIES
from pipelines.sample.national.territory import (
    ARRONDISSEMENT_MUNICIPAL,
    COMMUNE_ACTUELLE,
    COMMUNE_DELEGUEE,
    build_national_territory,
    scale_of,
)
from pipelines.settings import DataHome
from source_checks import load_from_folder

SMALL = 0.01


@pytest.fixture(scope="module")
def national_mirror(tmp_path_factory) -> tuple[Path, dict[str, list[str]]]:
    folder = tmp_path_factory.mktemp("national")
    return folder, write_national(folder, SMALL)


@pytest.fixture(scope="module")
def france():
    return build_national_territory(1.0)


def test_the_territory_has_the_size_and_shape_of_france(france):
    actuelles = france.communes.filter(pl.col("type") == COMMUNE_ACTUELLE)
    for vintage in ("2025", "2026"):
        people = actuelles.filter(pl.col("vintage") == vintage)["population"]
        assert 34_000 <= people.len() <= 35_500
        assert 60_000_000 <= people.sum() <= 72_000_000
        assert 400 <= people.median() <= 600  # most communes are villages
        assert 0.6 <= (people < 1_000).mean() <= 0.8
        assert 700 <= (people >= 10_000).sum() <= 1_200 and people.max() > 2_000_000  # and a heavy tail
    assert france.departements.height == 101 and france.regions.height == 18
    assert france.departements["chef_lieu"].null_count() == 0
    epcis = france.epcis.filter(pl.col("vintage") == "2026")
    assert 1_000 <= epcis.height <= 1_500


def test_communes_nouvelles_of_2026_merge_a_few_hundred_communes(france):
    before = france.commune_count("2025")
    after = france.commune_count("2026")
    assert 200 <= before - after <= 600
    mergers = france.movements.filter(pl.col("date_eff") == "2026-01-01")
    absorbed = mergers.filter((pl.col("typecom_ap") == "COM") & (pl.col("com_av") != pl.col("com_ap")))
    assert absorbed.height == before - after
    codes_2026 = france.communes.filter(pl.col("vintage") == "2026")
    # an absorbed commune is a commune déléguée of its commune nouvelle, which lists it among its former codes
    joined = absorbed.join(codes_2026, left_on="com_av", right_on="code")
    assert (joined["type"] == COMMUNE_DELEGUEE).all() and (joined["parent"] == joined["com_ap"]).all()
    nouvelles = codes_2026.filter(pl.col("code").is_in(absorbed["com_ap"].implode()) & (pl.col("type") == COMMUNE_ACTUELLE))
    former = nouvelles.explode("former_codes", empty_as_null=True)["former_codes"]
    assert former.is_in(absorbed["com_av"].implode()).sum() >= absorbed.height
    # the population of a commune nouvelle is the sum of its parts
    people_2025 = france.communes.filter((pl.col("vintage") == "2025") & (pl.col("type") == COMMUNE_ACTUELLE))
    assert people_2025.filter(pl.col("code").is_in(absorbed["com_av"].implode())).height == absorbed.height


def test_paris_lyon_and_marseille_keep_their_codes_and_arrondissements(france):
    c = france.communes.filter(pl.col("vintage") == "2026")
    for city, count in (("75056", 20), ("69123", 9), ("13055", 16)):
        arrondissements = c.filter((pl.col("type") == ARRONDISSEMENT_MUNICIPAL) & (pl.col("parent") == city))
        assert arrondissements.height == count
        total = c.filter((pl.col("code") == city) & (pl.col("type") == COMMUNE_ACTUELLE))["population"].item()
        assert arrondissements["population"].sum() == total
    arrondissement_codes = [code for _, _, codes, _ in PLM_CITIES for code in codes]
    assert c.filter((pl.col("type") == COMMUNE_ACTUELLE) & pl.col("code").is_in(arrondissement_codes)).is_empty()


def test_the_same_seed_gives_the_same_territory_and_another_seed_another():
    first, again, other = (build_national_territory(0.05, seed) for seed in (1, 1, 2))
    assert first.communes.equals(again.communes) and first.movements.equals(again.movements)
    assert not first.communes.equals(other.communes)


def test_scale_accepts_national_or_a_share():
    assert scale_of("national") == 1.0 and scale_of("0.25") == 0.25
    for bad in ("0", "1.5", "-1", "half", ""):
        with pytest.raises(ValueError, match="national"):
            scale_of(bad)


def test_every_source_of_the_bundled_sample_is_written_with_the_same_vintages_and_files(national_mirror, sample_files):
    folder, written = national_mirror
    sample_folder, sample_written = sample_files
    assert written == sample_written
    names = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    sample_names = {p.relative_to(sample_folder).as_posix() for p in sample_folder.rglob("*") if p.is_file()}
    assert names == sample_names


@pytest.mark.parametrize("source", sorted(national_writers()))
def test_each_vintage_loads_through_the_real_path(national_mirror, tmp_path, source):
    folder, written = national_mirror
    home = DataHome(tmp_path / "home").ensure()
    for vintage in written[source]:
        outcome = load_from_folder(home, folder, source, vintage, sample=True)
        assert outcome.status == "loaded", f"{source} {vintage}: {outcome.status} {outcome.detail}"
        assert all(rows > 0 for rows in outcome.rows.values()), outcome.rows


def test_writing_twice_gives_the_same_bytes(national_mirror, tmp_path):
    folder, _ = national_mirror
    again = tmp_path / "again"
    write_national(again, SMALL, sources=["etalab_decoupage", "insee_bpe"])
    for path in sorted((again).rglob("*")):
        if path.is_file():
            original = folder / path.relative_to(again)
            assert hashlib.sha256(path.read_bytes()).digest() == hashlib.sha256(original.read_bytes()).digest(), path


def test_communes_listed_by_the_geography_files_match_the_territory(national_mirror):
    folder, _ = national_mirror
    territory = build_national_territory(SMALL)
    with duckdb.connect() as con:
        listed = con.execute(
            f"select count(*) from read_json('{folder}/etalab_decoupage/2026/communes.json') where type = 'commune-actuelle'"
        ).fetchone()[0]
    assert listed == territory.commune_count("2026")
