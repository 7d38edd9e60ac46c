"""The source catalogue: one YAML file per source in this folder, named after the source id.

Each entry says who publishes the source, its licence and attribution, how often it is
released (cadence, release_month), which reader parses it, what each parsed entity must
satisfy (`entities`: columns, optional and list columns, key, commune code columns,
not-null, numeric columns, value sets, row range — checked with Great Expectations before
loading) and, per vintage, the files to fetch (name, format, url, entity). A mirror
(TERRITOIRES_MIRROR) is laid out as <source>/<vintage>/<file name>.

Row ranges hold for the national files; the bundled sample relaxes the lower bound.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

CATALOGUE_DIR = Path(__file__).parent


class CatalogueError(ValueError):
    """The catalogue, or a request against it, names something that does not exist."""


@dataclass(frozen=True)
class FileSpec:
    """One file of one vintage of a source."""

    name: str
    format: str
    url: str | None
    entity: str | None = None


@dataclass(frozen=True)
class Vintage:
    """One release of a source (usually a year)."""

    vintage: str
    files: tuple[FileSpec, ...]
    extra: dict[str, Any] = field(default_factory=dict)

    def file(self, name: str) -> FileSpec | None:
        """The file of that name, if the catalogue lists one."""
        return next((f for f in self.files if f.name == name), None)


@dataclass(frozen=True)
class Source:
    """A catalogue entry."""

    id: str
    title: str
    publisher: str
    licence: str
    attribution: str
    homepage: str
    cadence: str
    release_month: int | None
    reader: str
    notes: str
    entities: dict[str, dict[str, Any]]
    vintages: dict[str, Vintage]
    # years between a vintage's label and its publication (census 2021 comes out in 2024: 3)
    release_lag_years: int = 0

    @property
    def vintage_ids(self) -> list[str]:
        return sorted(self.vintages)

    def vintage(self, vintage: str) -> Vintage:
        """The catalogue's entry for that vintage, or a clear error listing the known ones."""
        try:
            return self.vintages[str(vintage)]
        except KeyError:
            known = ", ".join(self.vintage_ids)
            raise CatalogueError(
                f"source {self.id} has no vintage {vintage} in the catalogue (known: {known}); "
                f"add it to {CATALOGUE_DIR / (self.id + '.yml')} first"
            ) from None


def _source_from_dict(source_id: str, raw: dict[str, Any]) -> Source:
    missing = [k for k in ("title", "publisher", "licence", "reader", "vintages") if k not in raw]
    if missing:
        raise CatalogueError(f"catalogue entry {source_id} lacks {', '.join(missing)}")
    vintages = {}
    for vintage_id, entry in raw["vintages"].items():
        entry = dict(entry or {})
        files = tuple(
            FileSpec(name=f["name"], format=f["format"], url=f.get("url"), entity=f.get("entity"))
            for f in entry.pop("files", [])
        )
        if not files:
            raise CatalogueError(f"catalogue entry {source_id} vintage {vintage_id} lists no files")
        vintages[str(vintage_id)] = Vintage(str(vintage_id), files, entry)
    return Source(
        id=source_id,
        title=raw["title"],
        publisher=raw["publisher"],
        licence=raw["licence"],
        attribution=raw.get("attribution", raw["publisher"]),
        homepage=raw.get("homepage", ""),
        cadence=raw.get("cadence", "yearly"),
        release_month=raw.get("release_month"),
        reader=raw["reader"],
        notes=" ".join(str(raw.get("notes", "")).split()),
        entities=raw.get("entities", {}),
        vintages=vintages,
        release_lag_years=int(raw.get("release_lag_years", 0)),
    )


@lru_cache(maxsize=4)
def load_catalogue(folder: Path = CATALOGUE_DIR) -> dict[str, Source]:
    """Every source of the catalogue, by id."""
    catalogue = {}
    for path in sorted(Path(folder).glob("*.yml")):
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise CatalogueError(f"catalogue file {path} is not valid YAML: {exc}") from None
        catalogue[path.stem] = _source_from_dict(path.stem, raw or {})
    return catalogue


def get_source(source_id: str) -> Source:
    """The catalogue entry of a source id, or an error listing the valid ids."""
    catalogue = load_catalogue()
    try:
        return catalogue[source_id]
    except KeyError:
        raise CatalogueError(
            f"unknown source '{source_id}'; known sources: {', '.join(sorted(catalogue))}"
        ) from None
