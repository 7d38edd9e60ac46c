"""Column names across vintages: every alias of the catalogue is read under the catalogue's
name, and a file that has none of a column's names is refused with all of them listed."""

from __future__ import annotations

import polars as pl
import pytest

from pipelines.sources.catalogue import load_catalogue
from pipelines.sources.columns import accepted_names, apply_aliases
from pipelines.sources.readers import ParseError


def _aliases() -> list[tuple[str, str, str, str]]:
    found = []
    for source in load_catalogue().values():
        for entity, spec in source.entities.items():
            for column, names in (spec.get("aliases") or {}).items():
                found += [(source.id, entity, column, name) for name in names]
    return found


ALIASES = _aliases()


def test_the_catalogue_has_aliases_and_they_name_known_columns():
    assert ALIASES
    catalogue = load_catalogue()
    for source_id, entity, column, _ in ALIASES:
        spec = catalogue[source_id].entities[entity]
        assert column in [*spec["columns"], *spec.get("optional", [])], (source_id, entity, column)


@pytest.mark.parametrize(("source_id", "entity", "column", "alias"), ALIASES, ids=lambda v: str(v)[:40])
def test_each_alias_is_loaded_under_the_catalogue_name(source_id, entity, column, alias):
    spec = load_catalogue()[source_id].entities[entity]
    others = [c for c in spec["columns"] if c != column]
    frame = pl.DataFrame({**{c: ["x"] for c in others}, alias: ["42"]})
    renamed = apply_aliases(frame, spec, f"{source_id} test file.csv")
    assert renamed[column].to_list() == ["42"]
    assert alias not in renamed.columns
    assert set(renamed.columns) == {*others, column}


def test_a_file_with_none_of_the_names_is_refused_with_every_name():
    spec = {"columns": ["code", "value"], "aliases": {"value": ["valeur", "VAL"]}}
    with pytest.raises(ParseError) as error:
        apply_aliases(pl.DataFrame({"code": ["01001"], "amount": ["3"]}), spec, "src 2024 data.csv")
    message = str(error.value)
    assert message.startswith("src 2024 data.csv: column 'value' is missing")
    assert "'value'; 'valeur'; 'VAL'" in message and "(the file has: code, amount)" in message


def test_when_a_file_has_two_names_of_a_column_the_first_in_the_catalogue_wins():
    spec = {"columns": ["code", "value"], "aliases": {"value": ["valeur"]}}
    frame = pl.DataFrame({"code": ["01001"], "valeur": ["old"], "value": ["new"]})
    assert apply_aliases(frame, spec, "x").to_dicts() == [{"code": "01001", "value": "new"}]
    assert accepted_names(spec, "value") == ["value", "valeur"]


def test_an_optional_column_under_an_alias_is_renamed_and_its_absence_is_fine():
    spec = {"columns": ["code"], "optional": ["value"], "aliases": {"value": ["valeur"]}}
    assert apply_aliases(pl.DataFrame({"code": ["a"], "valeur": ["1"]}), spec, "x").columns == ["code", "value"]
    assert apply_aliases(pl.DataFrame({"code": ["a"]}), spec, "x").columns == ["code"]
