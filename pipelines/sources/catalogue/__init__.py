"""The source catalogue: one YAML file per source in this folder, named after the source id.

Each entry says who publishes the source, its licence and attribution, how often it is
released (cadence, release_month), which reader parses it, what each parsed entity must
satisfy (`entities`: columns, optional and list columns, key, commune code columns,
not-null, numeric columns, value sets, row range — checked with Great Expectations before
loading) and, per vintage, the files to fetch (name, format, url, entity). A mirror
(TERRITOIRES_MIRROR) is laid out as <source>/<vintage>/<file name>.

Row ranges hold for the national files; the bundled sample relaxes the lower bound.

Most sources list their vintages (`vintages:`, usually years). A source released every
week or month (`partitions: weekly` or `monthly`) lists none or a few: its vintages are
found upstream (`discovery:`), in a mirror's folders, or given to `territoires ingest`,
and any well-formed label (2026-W48, 2026-11) is accepted; `vintage_template:` holds the
parse options and file patterns such a vintage uses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

CATALOGUE_DIR = Path(__file__).parent

# libyaml's safe loader when PyYAML was built with it (a YAML file of a megabyte: a fraction of a second, not seconds)
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


PARTITIONINGS = ("static", "weekly", "monthly")
# ASCII digits, matched whole: `$` alone would let "2026-W48\n" through, `\d` full-width digits.
_WEEK = re.compile(r"([0-9]{4})-W([0-9]{2})")
_MONTH = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")


def well_formed(partitions: str, vintage: str) -> bool:
    """Whether a label is a vintage of that partitioning: an ISO week (2026-W48) or a month (2026-11)."""
    if partitions == "weekly":
        week = _WEEK.fullmatch(vintage)
        if not week:
            return False
        try:
            date.fromisocalendar(int(week.group(1)), int(week.group(2)), 1)
        except ValueError:
            return False
        return True
    if partitions == "monthly":
        return bool(_MONTH.fullmatch(vintage))
    return False


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
    # 'static': the vintages listed here; 'weekly' / 'monthly': any ISO week / month, as found
    partitions: str = "static"
    # how new vintages are found upstream (url, method); see pipelines/sources/discovery.py
    discovery: dict[str, Any] = field(default_factory=dict)
    # parse options and file patterns of a vintage the catalogue does not list
    vintage_template: dict[str, Any] = field(default_factory=dict)

    @property
    def vintage_ids(self) -> list[str]:
        """The vintages the catalogue lists (a weekly or monthly source may have more, found upstream)."""
        return sorted(self.vintages)

    @property
    def is_dynamic(self) -> bool:
        """Vintages are weeks or months found upstream, not a list kept by hand."""
        return self.partitions != "static"

    def vintage(self, vintage: str) -> Vintage:
        """The catalogue's entry for that vintage, or a clear error listing the known ones.

        A weekly or monthly source accepts any well-formed label: its files come from
        discovery, a mirror or `territoires ingest`, its parse options from the template.
        """
        vintage = str(vintage)
        if vintage in self.vintages:
            return self.vintages[vintage]
        if self.is_dynamic and well_formed(self.partitions, vintage):
            extra = {k: v for k, v in self.vintage_template.items() if not k.endswith("files")}
            return Vintage(vintage, (), extra)
        if self.is_dynamic:
            example = "2026-W48" if self.partitions == "weekly" else "2026-11"
            raise CatalogueError(
                f"source {self.id} is released {self.partitions}: its vintages are written like {example}, "
                f"not {vintage!r}"
            )
        known = ", ".join(self.vintage_ids)
        raise CatalogueError(
            f"source {self.id} has no vintage {vintage} in the catalogue (known: {known}); "
            f"add it to {CATALOGUE_DIR / (self.id + '.yml')} first"
        )

    def accepts(self, vintage: str) -> bool:
        """Whether the source can have that vintage (listed, or a well-formed week or month)."""
        return str(vintage) in self.vintages or (self.is_dynamic and well_formed(self.partitions, str(vintage)))

    def template_files(self, kind: str, vintage: str) -> tuple[FileSpec, ...]:
        """The files of a vintage the catalogue does not list: `current_files` or `past_files` of the template."""
        return tuple(
            FileSpec(
                name=f["name"], format=f["format"], entity=f.get("entity"),
                url=f["url"].replace("{vintage}", vintage) if f.get("url") else None,  # ${NAME} secrets stay
            )  # fmt: skip
            for f in self.vintage_template.get(kind, [])
        )


def _source_from_dict(source_id: str, raw: dict[str, Any]) -> Source:
    partitions = raw.get("partitions", "static")
    if partitions not in PARTITIONINGS:
        raise CatalogueError(f"catalogue entry {source_id}: partitions must be one of {', '.join(PARTITIONINGS)}")
    required = ("title", "publisher", "licence", "reader") + (("vintages",) if partitions == "static" else ())
    missing = [k for k in required if k not in raw]
    if missing:
        raise CatalogueError(f"catalogue entry {source_id} lacks {', '.join(missing)}")
    vintages = {}
    for vintage_id, entry in (raw.get("vintages") or {}).items():
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
        partitions=partitions,
        discovery=dict(raw.get("discovery") or {}),
        vintage_template=dict(raw.get("vintage_template") or {}),
    )


@lru_cache(maxsize=4)
def load_catalogue(folder: Path = CATALOGUE_DIR) -> dict[str, Source]:
    """Every source of the catalogue, by id."""
    catalogue = {}
    for path in sorted(Path(folder).glob("*.yml")):
        try:
            raw = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER)
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
