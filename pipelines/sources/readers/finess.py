"""FINESS (DREES / ARS): health and social establishments, geolocated, and their capacities.

Both files of data.gouv.fr's FINESS extractions are `;`-separated text without a header
row: a first line `finess;etalab;<number>;<extraction date>`, then lines whose first field
says what they hold, each kind with its own fields.

* The geolocated establishments stock (``etalab-cs1100507-stock-….csv``): ``structureet``
  lines (32 fields: the kind, then :data:`STRUCTURE_FIELDS`; the line ends with the empty
  UAI number) and, after them, ``geolocalisation`` lines (6 fields: the kind, then
  :data:`GEOLOCATION_FIELDS`). They are joined into one ``establishments`` frame, one row per
  FINESS number, the coordinates beside the structure; an establishment without a
  geolocation line keeps empty coordinates. The geolocation's own update date is handed
  over as ``datemaj_geolocalisation`` and the header's date as ``extraction_date``.
* The social and medico-social equipment extraction (``etalab-cs1100505-stock-….csv``):
  ``equipementsocial`` lines, one per authorised activity (discipline, activity type,
  clientèle) of an establishment, read into the ``capacities`` frame. Only the fields whose
  position is known are read (:data:`EQUIPMENT_FIELDS`).

Fields may be double-quoted (a quote inside doubled). The files are UTF-8 (recent
extractions) or Windows-1252 (older ones). A line with another number of fields than its
kind has (a cut file, a changed layout) is refused, naming the line.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path

import polars as pl

from pipelines.sources.readers.common import IncompleteVintage, ParseError, describe, read_bytes

SOURCE = "finess"
ENTITY = "establishments"
CAPACITIES = "capacities"
CAPACITIES_MARK = "cs1100505"  # in the name of the equipment extraction's file
ENCODINGS = ("utf-8", "cp1252")
HEADER_KIND = "finess"
STRUCTURE, GEOLOCATION, EQUIPMENT = "structureet", "geolocalisation", "equipementsocial"

# The fields of a structureet line after its kind, in order (etalab_cs1100507 layout).
STRUCTURE_FIELDS = (
    "nofinesset", "nofinessej", "rs", "rslongue", "complrs", "compldistrib", "numvoie", "typvoie", "voie",
    "compvoie", "lieuditbp", "commune", "departement", "libdepartement", "ligneacheminement", "telephone",
    "telecopie", "categetab", "libcategetab", "categagretab", "libcategagretab", "siret", "codeape", "codemft",
    "libmft", "codesph", "libsph", "dateouv", "dateautor", "datemaj", "numuai",
)  # fmt: skip
GEOLOCATION_FIELDS = ("nofinesset", "coordxet", "coordyet", "sourcecoordet", "datemaj")
# What the establishments frame keeps (no street address, no phone numbers).
KEPT_STRUCTURE = (
    "nofinesset", "nofinessej", "rs", "rslongue", "commune", "departement", "libdepartement", "ligneacheminement",
    "categetab", "libcategetab", "categagretab", "libcategagretab", "siret", "dateouv", "dateautor", "datemaj",
)  # fmt: skip
KEPT_GEOLOCATION = {"coordxet": "coordxet", "coordyet": "coordyet", "sourcecoordet": "sourcecoordet",
                    "datemaj": "datemaj_geolocalisation"}  # fmt: skip
# Position (0 = the kind) of the equipementsocial fields read; the line has more fields after them.
EQUIPMENT_FIELDS = {
    "nofinesset": 1, "de": 2, "libde": 3, "ta": 4, "libta": 5, "client": 6, "libclient": 7, "sourceinfo": 8,
    "capinstot": 9, "indsupinst": 15, "capautot": 18, "indsupaut": 24,
}  # fmt: skip
# A quoted field (its doubled quotes included): removed before counting the separators of a line.
QUOTED = r'"(?:[^"]|"")*"'


def read(files: Sequence[Path], vintage: str, source: str = SOURCE) -> dict[str, tuple[pl.DataFrame, Path]]:
    """The establishments of the vintage's stock and, when its file is there, their capacities."""
    texts = [p for p in files if p.name.lower().endswith(".csv")]
    equipment = [p for p in texts if CAPACITIES_MARK in p.name.lower()]
    stock = [p for p in texts if CAPACITIES_MARK not in p.name.lower()]
    if not stock:
        names = ", ".join(p.name for p in files) or "no file"
        raise IncompleteVintage(f"{source} {vintage}: no FINESS establishments stock (.csv) among the files ({names})")
    frames = {ENTITY: (read_establishments(stock[0], describe(source, vintage, stock[0])), stock[0])}
    if equipment:
        frames[CAPACITIES] = (read_capacities(equipment[0], describe(source, vintage, equipment[0])), equipment[0])
    return frames


def notes(frames: Mapping[str, tuple[pl.DataFrame, Path]]) -> list[str]:
    """What the build says about a vintage: the establishments without coordinates."""
    establishments = frames[ENTITY][0]
    unplaced = establishments.filter(pl.col("coordxet").is_null() | pl.col("coordyet").is_null()).height
    return [f"{unplaced} of {establishments.height} establishments have no coordinates"] if unplaced else []


def read_establishments(path: Path, where: str) -> pl.DataFrame:
    """One row per structureet line, its geolocation line's fields beside it (empty without one)."""
    lines = typed_lines(decode(read_bytes(path), where))
    structures = lines.filter(pl.col("kind") == STRUCTURE)
    if structures.is_empty():
        raise ParseError(
            f"{where}: no {STRUCTURE} line, so no establishment; is this a FINESS establishments extraction? "
            f"(it starts with: {first_line(lines)})"
        )
    structure = fields_of(structures, STRUCTURE_FIELDS, where)
    geolocation = fields_of(lines.filter(pl.col("kind") == GEOLOCATION), GEOLOCATION_FIELDS, where)
    twice = geolocation.filter(pl.col("nofinesset").is_duplicated())["nofinesset"].unique().sort()
    if twice.len():
        raise ParseError(
            f"{where}: {twice.len()} establishment(s) have several {GEOLOCATION} lines (e.g. FINESS "
            f"{', '.join(twice.head(3).to_list())}); each should have one"
        )
    placed = geolocation.select("nofinesset", *[pl.col(c).alias(name) for c, name in KEPT_GEOLOCATION.items()])
    joined = structure.select(KEPT_STRUCTURE).join(placed, on="nofinesset", how="left", maintain_order="left")
    return joined.with_columns(pl.lit(extraction_date(lines), pl.Utf8).alias("extraction_date"))


def read_capacities(path: Path, where: str) -> pl.DataFrame:
    """One row per equipementsocial line: the establishment, the activity and its places."""
    lines = typed_lines(decode(read_bytes(path), where))
    equipment = lines.filter(pl.col("kind") == EQUIPMENT)
    if equipment.is_empty():
        raise ParseError(
            f"{where}: no {EQUIPMENT} line, so no capacity; is this FINESS's extraction of the social and "
            f"medico-social equipment? (it starts with: {first_line(lines)})"
        )
    needed = max(EQUIPMENT_FIELDS.values()) + 1
    short = equipment.filter(pl.col("fields") < needed)
    if short.height:
        first = short.row(0, named=True)
        raise ParseError(
            f"{where}: line {first['line']} ({EQUIPMENT}) has {first['fields']} fields, fewer than the {needed} "
            "the layout has up to "
            "indsupaut; is the file complete?"
        )
    width = int(equipment["fields"].max())
    frame = parse_fields(equipment, [f"field_{i}" for i in range(width)], where)
    return frame.select([pl.col(f"field_{i}").alias(name) for name, i in EQUIPMENT_FIELDS.items()])


def decode(data: bytes, where: str) -> str:
    """The file's text: UTF-8 (a BOM dropped), else Windows-1252, the encoding of older extractions."""
    if not data.strip():
        raise ParseError(f"{where}: the file is empty")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data[:4096]:
        raise ParseError(
            f"{where}: the file is UTF-16 encoded (probably re-saved by a spreadsheet), not UTF-8 or Windows-1252; "
            "use the original file"
        )
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding).removeprefix("\ufeff")
        except UnicodeDecodeError:
            continue
    raise ParseError(
        f"{where}: cannot be decoded as UTF-8 or Windows-1252; the publisher may have changed the encoding"
    )


def typed_lines(text: str) -> pl.DataFrame:
    """Every non-blank line with its number (1-based), its kind (first field) and its number of fields."""
    lines = pl.Series("text", text.split("\n")).str.strip_chars_end("\r")
    return (
        pl.DataFrame(lines)
        .with_row_index("line", offset=1)
        .filter(pl.col("text").str.strip_chars() != "")
        .with_columns(
            pl.col("text").str.extract(r"^([^;]*)", 1).str.strip_chars('" ').alias("kind"),
            (pl.col("text").str.replace_all(QUOTED, "").str.count_matches(";") + 1).alias("fields"),
        )
    )


def fields_of(lines: pl.DataFrame, names: Sequence[str], where: str) -> pl.DataFrame:
    """The fields of lines of one kind, named; a line with another number of fields is refused."""
    expected = len(names) + 1
    wrong = lines.filter(pl.col("fields") != expected)
    if wrong.height:
        first = wrong.row(0, named=True)
        raise ParseError(
            f"{where}: line {first['line']} ({first['kind']}) has {first['fields']} fields, the layout has "
            f"{expected}; the file may be cut short or its layout changed ({wrong.height} such line(s))"
        )
    return parse_fields(lines, ["kind", *names], where).drop("kind")


def parse_fields(lines: pl.DataFrame, names: Sequence[str], where: str) -> pl.DataFrame:
    """Lines split into text fields by a CSV parser (quoted fields, doubled quotes); empty fields are null."""
    if lines.is_empty():
        return pl.DataFrame(schema={name: pl.Utf8 for name in names})
    body = "\n".join(lines["text"].to_list())
    try:
        return pl.read_csv(
            io.StringIO(body), separator=";", has_header=False, schema={name: pl.Utf8 for name in names},
            quote_char='"', truncate_ragged_lines=True,
        )  # fmt: skip
    except pl.exceptions.PolarsError as exc:
        problem = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ParseError(f"{where}: the {lines['kind'][0]} lines cannot be split into fields ({problem})") from None


def extraction_date(lines: pl.DataFrame) -> str | None:
    """The date of the `finess;etalab;<number>;<date>` header line, if the file has one."""
    header = lines.filter(pl.col("kind") == HEADER_KIND).head(1)
    if header.is_empty():
        return None
    date = header["text"].str.split(";").list.get(3, null_on_oob=True).str.strip_chars()[0]
    return date or None


def first_line(lines: pl.DataFrame) -> str:
    """The first line of a file, shortened, to show what it is instead."""
    return repr(lines["text"][0][:80]) if lines.height else "nothing"
