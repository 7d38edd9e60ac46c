"""INSEE COG: both names of the movements file are read, and the catalogue names each
vintage's files as INSEE publishes them."""

from __future__ import annotations

import shutil

import pytest

from pipelines.sample.territory import build_territory, write_insee_cog
from pipelines.sources.catalogue import get_source
from pipelines.sources.readers import IncompleteVintage
from pipelines.sources.readers.insee_cog import read


@pytest.fixture(scope="module")
def cog_2025(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cog")
    write_insee_cog(build_territory(), folder)
    return folder / "insee_cog" / "2025"


@pytest.mark.parametrize("movements_name", ["v_mvt_commune_2025.csv", "v_mvtcommune_2025.csv"])
def test_both_names_of_the_movements_file_are_the_movements(cog_2025, tmp_path, movements_name):
    communes = cog_2025 / "v_commune_2025.csv"
    movements = tmp_path / movements_name
    shutil.copy(cog_2025 / "v_mvt_commune_2025.csv", movements)
    frames = read([communes, movements], "2025")
    assert set(frames) == {"communes", "movements"}
    assert frames["movements"][1] == movements
    assert frames["movements"][0].height > 0 and "COM_AV" in frames["movements"][0].columns


def test_the_catalogue_names_every_movements_file_so_the_reader_finds_it():
    source = get_source("insee_cog")
    assert source.vintage("2023").file("v_mvtcommune_2023.csv").entity == "movements"
    for vintage in source.vintage_ids:
        movements = [f for f in source.vintage(vintage).files if f.entity == "movements"]
        assert movements and movements[0].url and movements[0].url.endswith("/" + movements[0].name)


def test_without_the_communes_file_the_vintage_is_incomplete(cog_2025):
    with pytest.raises(IncompleteVintage, match=r"insee_cog 2025: no v_commune_<year>.csv"):
        read([cog_2025 / "v_mvt_commune_2025.csv"], "2025")
