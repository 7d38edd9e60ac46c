"""INSEE Sirene establishments stock (StockEtablissement_utf8): cafés, restaurants, shops, hairdressers.

The national stock holds about 40 million establishments, so it is never loaded whole:
DuckDB scans the file and keeps the establishments of the wanted activities, with the
columns the warehouse uses, as text. An establishment is kept when it is active
(etatAdministratifEtablissement A), or closed (F) with a closing date (dateDebut, the start of
its current period) no more than `parse: closed_within_years` years before the stock's month,
and when
* its NAF rév. 2 code (nomenclature NAFRev2) is in the vintage's `parse: naf_codes` or starts
  with one of `parse: naf_prefixes` ("47." for the whole retail division), or
* its NAF 2025 code (activitePrincipaleNAF25Etablissement, in the stocks since December 2025;
  a stock without that column is read with the first clause only) is in `parse: naf25_codes`
  or starts with one of `parse: naf25_prefixes`, or
* its main activity is itself a NAF 2025 code of those lists (NAF 2025 becomes the reference
  nomenclature on 1 January 2027); its nomenclature value must then be one of
  `parse: naf25_nomenclatures`, else the file is refused with the value it carries.

Reads data.gouv.fr's Parquet (StockEtablissement_utf8.parquet, typed columns) or INSEE's
zipped CSV (StockEtablissement_utf8.zip). The CSV is first extracted to a temporary folder
(TMPDIR; the national file takes about 8 GB) so that DuckDB can scan it in parallel.
Dates come out as YYYY-MM-DD, timestamps as YYYY-MM-DDTHH:MM:SS and booleans as true/false,
whichever of the two files they come from.
"""

from __future__ import annotations

import difflib
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from pipelines.sources.archives import list_members, open_member
from pipelines.sources.catalogue import CATALOGUE_DIR, CatalogueError, get_source
from pipelines.sources.errors import ArchiveError
from pipelines.sources.readers.common import IncompleteVintage, ParseError, describe

SOURCE = "insee_sirene"
ENTITY = "establishments"

# The 54 columns of StockEtablissement, in INSEE's order (since December 2025).
STOCK_COLUMNS = (
    "siren", "nic", "siret", "statutDiffusionEtablissement", "dateCreationEtablissement",
    "trancheEffectifsEtablissement", "anneeEffectifsEtablissement",
    "activitePrincipaleRegistreMetiersEtablissement", "dateDernierTraitementEtablissement",
    "etablissementSiege", "nombrePeriodesEtablissement", "complementAdresseEtablissement",
    "numeroVoieEtablissement", "indiceRepetitionEtablissement", "dernierNumeroVoieEtablissement",
    "indiceRepetitionDernierNumeroVoieEtablissement", "typeVoieEtablissement",
    "libelleVoieEtablissement", "codePostalEtablissement", "libelleCommuneEtablissement",
    "libelleCommuneEtrangerEtablissement", "distributionSpecialeEtablissement",
    "codeCommuneEtablissement", "codeCedexEtablissement", "libelleCedexEtablissement",
    "codePaysEtrangerEtablissement", "libellePaysEtrangerEtablissement",
    "identifiantAdresseEtablissement", "coordonneeLambertAbscisseEtablissement",
    "coordonneeLambertOrdonneeEtablissement", "complementAdresse2Etablissement",
    "numeroVoie2Etablissement", "indiceRepetition2Etablissement", "typeVoie2Etablissement",
    "libelleVoie2Etablissement", "codePostal2Etablissement", "libelleCommune2Etablissement",
    "libelleCommuneEtranger2Etablissement", "distributionSpeciale2Etablissement",
    "codeCommune2Etablissement", "codeCedex2Etablissement", "libelleCedex2Etablissement",
    "codePaysEtranger2Etablissement", "libellePaysEtranger2Etablissement", "dateDebut",
    "etatAdministratifEtablissement", "enseigne1Etablissement", "enseigne2Etablissement",
    "enseigne3Etablissement", "denominationUsuelleEtablissement", "activitePrincipaleEtablissement",
    "nomenclatureActivitePrincipaleEtablissement", "caractereEmployeurEtablissement",
    "activitePrincipaleNAF25Etablissement",
)  # fmt: skip

# Columns handed over, when the file has them (the catalogue says which are required).
KEPT_COLUMNS = (
    "siren", "siret", "statutDiffusionEtablissement", "dateCreationEtablissement",
    "trancheEffectifsEtablissement", "dateDernierTraitementEtablissement", "etablissementSiege",
    "codePostalEtablissement", "libelleCommuneEtablissement", "codeCommuneEtablissement",
    "codePaysEtrangerEtablissement", "coordonneeLambertAbscisseEtablissement",
    "coordonneeLambertOrdonneeEtablissement", "dateDebut", "etatAdministratifEtablissement",
    "enseigne1Etablissement", "denominationUsuelleEtablissement", "activitePrincipaleEtablissement",
    "nomenclatureActivitePrincipaleEtablissement", "caractereEmployeurEtablissement",
    "activitePrincipaleNAF25Etablissement",
)  # fmt: skip
STATE, NOMENCLATURE, ACTIVITY, ACTIVITY_NAF25 = (
    "etatAdministratifEtablissement",
    "nomenclatureActivitePrincipaleEtablissement",
    "activitePrincipaleEtablissement",
    "activitePrincipaleNAF25Etablissement",
)
NAF_REV2 = "NAFRev2"
PROCESSED = "dateDernierTraitementEtablissement"
# The start of the current period: for a closed establishment, the day its closed state began.
PERIOD_START = "dateDebut"

# Used when a vintage's catalogue entry has no `parse: naf_codes` / `naf25_codes` / `naf25_nomenclatures`.
DEFAULT_NAF_CODES = ("56.30Z",)
DEFAULT_NAF25_CODES = ("56.30Y",)
DEFAULT_NAF25_NOMENCLATURES = ("NAF2025",)
NAF_CODE = re.compile(r"^[0-9]{2}\.[0-9]{2}[A-Z]$")
# NAF 2025 sub-classes: the NACE Rev. 2.1 class with its dot and a letter, Y for a class that is
# not subdivided (Z in NAF rév. 2) and G, H, J… for the sub-classes of a divided one (every code
# seen in the stock so far: 56.30Y, 56.11J, 47.11G, 43.22H…), so they never collide with rév. 2 codes.
NAF25_CODE = re.compile(r"^[0-9]{2}\.[0-9]{2}[G-Y]$")
# The same with or without the dot, as a regular expression for DuckDB and polars: a main activity
# starting with a NAF 2025 prefix must also look like a NAF 2025 code (not an older nomenclature's
# code of the same digits).
NAF25_SHAPE = r"[0-9]{2}\.?[0-9]{2}[G-Y]"
# A prefix is the start of a code with its dot: a division ("47."), a group ("96.2") or a class ("96.21").
NAF_PREFIX = re.compile(r"^[0-9]{2}\.[0-9]{0,2}$")
NOMENCLATURE_VALUE = re.compile(r"^[A-Za-z0-9]+$")
MONTH_VINTAGE = re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])$")
# Rows a stock may hold that were processed in its own month (its first hours): beyond, it is the next stock.
LATE_ROWS_TOLERATED = 10
# The scan streams the file; the limit only bounds what DuckDB keeps for the kept rows.
DUCKDB_MEMORY_LIMIT = "1GB"


def read(
    files: Sequence[Path],
    vintage: str,
    source: str = SOURCE,
    *,
    naf_codes: Sequence[str] | None = None,
    naf25_codes: Sequence[str] | None = None,
    naf_prefixes: Sequence[str] | None = None,
    naf25_prefixes: Sequence[str] | None = None,
    closed_within_years: int | None = None,
) -> dict[str, tuple[pl.DataFrame, Path]]:
    """The establishments of the wanted NAF codes from the newest Parquet or ZIP file: the active
    ones, and those closed in the `closed_within_years` years before the stock's month.

    Each keyword defaults to the vintage's `parse:` setting of the same name in the catalogue:
    `naf_codes` and `naf_prefixes` (NAF rév. 2), `naf25_codes` and `naf25_prefixes` (NAF 2025;
    both empty keep only the rév. 2 clause), `closed_within_years` (0: active establishments only).
    """
    codes = Codes(
        tuple(naf_codes) if naf_codes is not None else naf_codes_for(vintage, source),
        tuple(naf25_codes) if naf25_codes is not None else naf25_codes_for(vintage, source),
        naf25_nomenclatures_for(vintage, source),
        tuple(naf_prefixes) if naf_prefixes is not None else naf_prefixes_for(vintage, source),
        tuple(naf25_prefixes) if naf25_prefixes is not None else naf25_prefixes_for(vintage, source),
    )
    check_naf_codes(codes.rev2, source)
    check_naf25_codes(codes.naf25, source)
    check_naf_prefixes(codes.rev2_prefixes, "naf_prefixes", source)
    check_naf_prefixes(codes.naf25_prefixes, "naf25_prefixes", source)
    check_naf25_nomenclatures(codes.nomenclatures, source)
    years = closed_within_years if closed_within_years is not None else closed_within_years_for(vintage, source)
    check_closed_within_years(years, source)
    closed_since = first_closing_day_kept(vintage, years, source)
    required = required_columns(source)
    for path in files:
        where = describe(source, vintage, path)
        if path.name.endswith(".parquet"):
            frame = _read_parquet(path, codes, closed_since, required, where)
        elif path.name.endswith(".zip"):
            frame = _read_zipped_csv(path, codes, closed_since, required, where)
        else:
            continue
        check_naf25_nomenclature_values(frame, codes, where, source)
        check_stock_month(frame, vintage, where)
        return {ENTITY: (frame, path)}
    names = ", ".join(p.name for p in files) or "no file"
    raise IncompleteVintage(
        f"{source} {vintage}: no StockEtablissement_utf8.parquet or StockEtablissement_utf8.zip "
        f"among the snapshot files ({names})"
    )


@dataclass(frozen=True)
class Codes:
    """What the filter keeps: NAF rév. 2 codes, NAF 2025 codes, the nomenclature values of NAF 2025,
    and the starts of codes (prefixes) kept in each nomenclature."""

    rev2: tuple[str, ...]
    naf25: tuple[str, ...]
    nomenclatures: tuple[str, ...]
    rev2_prefixes: tuple[str, ...] = ()
    naf25_prefixes: tuple[str, ...] = ()

    @property
    def naf25_spellings(self) -> tuple[str, ...]:
        """The NAF 2025 codes as Sirene writes them (56.30Y) and without their dot (5630Y, INSEE's own tools)."""
        return (*self.naf25, *(code.replace(".", "") for code in self.naf25))

    @property
    def naf25_prefix_spellings(self) -> tuple[str, ...]:
        """The NAF 2025 prefixes with their dot (96.21) and without it (9621)."""
        undotted = (prefix.replace(".", "") for prefix in self.naf25_prefixes)
        return tuple(dict.fromkeys([*self.naf25_prefixes, *undotted]))

    @property
    def has_naf25(self) -> bool:
        return bool(self.naf25 or self.naf25_prefixes)

    def describe(self) -> str:
        rev2 = ", ".join([*self.rev2, *(f"{prefix}*" for prefix in self.rev2_prefixes)])
        naf25 = ", ".join([*self.naf25, *(f"{prefix}*" for prefix in self.naf25_prefixes)])
        return f"NAF rév. 2 {rev2}" + (f", or NAF 2025 {naf25}" if naf25 else "")


def _parse(vintage: str, source: str) -> dict:
    """The vintage's `parse:` settings in the catalogue (none for a vintage the catalogue does not accept)."""
    try:
        return get_source(source).vintage(vintage).extra.get("parse") or {}
    except CatalogueError:
        return {}


def _parse_setting(vintage: str, source: str, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    """A list under the vintage's `parse:` in the catalogue, else the default (also when the key is absent)."""
    values = _parse(vintage, source).get(key)
    return default if values is None else tuple(str(value) for value in values)


def naf_codes_for(vintage: str, source: str = SOURCE) -> tuple[str, ...]:
    """The NAF rév. 2 codes kept for a vintage: its `parse: naf_codes` in the catalogue, else the default."""
    return _parse_setting(vintage, source, "naf_codes", DEFAULT_NAF_CODES) or DEFAULT_NAF_CODES


def naf25_codes_for(vintage: str, source: str = SOURCE) -> tuple[str, ...]:
    """The NAF 2025 codes kept for a vintage: its `parse: naf25_codes` (may be empty), else the default."""
    return _parse_setting(vintage, source, "naf25_codes", DEFAULT_NAF25_CODES)


def naf25_nomenclatures_for(vintage: str, source: str = SOURCE) -> tuple[str, ...]:
    """The nomenclature values meaning NAF 2025: the vintage's `parse: naf25_nomenclatures`, else the default."""
    return _parse_setting(vintage, source, "naf25_nomenclatures", DEFAULT_NAF25_NOMENCLATURES)


def naf_prefixes_for(vintage: str, source: str = SOURCE) -> tuple[str, ...]:
    """The starts of NAF rév. 2 codes kept for a vintage: its `parse: naf_prefixes` (none when absent)."""
    return _parse_setting(vintage, source, "naf_prefixes", ())


def naf25_prefixes_for(vintage: str, source: str = SOURCE) -> tuple[str, ...]:
    """The starts of NAF 2025 codes kept for a vintage: its `parse: naf25_prefixes` (none when absent)."""
    return _parse_setting(vintage, source, "naf25_prefixes", ())


def closed_within_years_for(vintage: str, source: str = SOURCE) -> int:
    """How many years of closures a vintage keeps: its `parse: closed_within_years` (0, none, when absent)."""
    return _parse(vintage, source).get("closed_within_years", 0)


def first_closing_day_kept(vintage: str, years: int, source: str = SOURCE) -> date | None:
    """The earliest closing date kept: the first day of the stock's month, `years` years before
    (a closure on that day is kept); None when only active establishments are kept."""
    if years == 0:
        return None
    match = MONTH_VINTAGE.match(vintage)
    if match is None:
        raise ParseError(
            f"{source} {vintage}: a vintage of this source is the month of its stock, YYYY-MM; "
            "the closures to keep are counted back from it"
        )
    return date(int(match.group(1)) - years, int(match.group(2)), 1)


def _catalogue_file(source: str) -> Path:
    return CATALOGUE_DIR / (source + ".yml")


def check_naf_codes(codes: Sequence[str], source: str = SOURCE) -> None:
    """NAF rév. 2 codes are written with their dot ('56.30Z'); anything else is a catalogue mistake."""
    wrong = [code for code in codes if not NAF_CODE.match(code)]
    if wrong or not codes:
        raise CatalogueError(
            f"{source}: the NAF codes to keep must be NAF rév. 2 codes with their dot, like '56.30Z'; "
            f"got {', '.join(repr(c) for c in wrong) or 'none'}. Fix `parse: naf_codes` in {_catalogue_file(source)}"
        )


def check_naf25_codes(codes: Sequence[str], source: str = SOURCE) -> None:
    """NAF 2025 codes are written with their dot and end in Y or G…X ('56.30Y', '56.11J').

    An empty list is allowed (only the NAF rév. 2 clause then applies). A code ending in Z or
    A…F is a NAF rév. 2 code put in the wrong list.
    """
    wrong = [code for code in codes if not NAF25_CODE.match(code)]
    if not wrong:
        return
    rev2 = [repr(code) for code in wrong if NAF_CODE.match(code)]
    hint = ""
    if rev2:
        are = "is a NAF rév. 2 code" if len(rev2) == 1 else "are NAF rév. 2 codes"
        hint = f" ({', '.join(rev2)} {are}: those go in `parse: naf_codes`)"
    raise CatalogueError(
        f"{source}: the NAF 2025 codes to keep must be NAF 2025 sub-classes with their dot, ending in Y "
        f"(class not subdivided) or G, H, J…, like '56.30Y' or '56.11J'; got {', '.join(repr(c) for c in wrong)}"
        f"{hint}. Fix `parse: naf25_codes` in {_catalogue_file(source)}"
    )


def check_naf_prefixes(prefixes: Sequence[str], key: str, source: str = SOURCE) -> None:
    """Prefixes are starts of codes with their dot: a division ('47.'), a group ('96.2') or a class ('96.21')."""
    wrong = [prefix for prefix in prefixes if not NAF_PREFIX.match(prefix)]
    if wrong:
        raise CatalogueError(
            f"{source}: `parse: {key}` must list starts of NAF codes with their dot, like '47.' (a division) "
            f"or '96.21' (a class); got {', '.join(repr(p) for p in wrong)}. Fix it in {_catalogue_file(source)}"
        )


def check_closed_within_years(years: object, source: str = SOURCE) -> None:
    """A whole number of years, 0 (active establishments only) to 50."""
    if isinstance(years, bool) or not isinstance(years, int) or not 0 <= years <= 50:
        raise CatalogueError(
            f"{source}: `parse: closed_within_years` must be a whole number of years from 0 (active "
            f"establishments only) to 50; got {years!r}. Fix it in {_catalogue_file(source)}"
        )


def check_naf25_nomenclatures(values: Sequence[str], source: str = SOURCE) -> None:
    """The nomenclature values of NAF 2025 are plain words ('NAF2025'), at least one."""
    wrong = [value for value in values if not NOMENCLATURE_VALUE.match(value)]
    if wrong or not values:
        raise CatalogueError(
            f"{source}: `parse: naf25_nomenclatures` must list the {NOMENCLATURE} values of NAF 2025, "
            f"letters and digits only, like 'NAF2025'; got {', '.join(repr(v) for v in wrong) or 'none'}. "
            f"Fix it in {_catalogue_file(source)}"
        )


def check_naf25_nomenclature_values(frame: pl.DataFrame, codes: Codes, where: str, source: str = SOURCE) -> None:
    """Refuse a main activity in NAF 2025 under a nomenclature value the catalogue does not know.

    From 2027 activitePrincipaleEtablissement holds NAF 2025 codes; the filter keeps them
    whatever nomenclature value comes with them (other than NAFRev2), so that a new name
    cannot make them vanish silently: it is named here instead.
    """
    if not codes.has_naf25 or frame.is_empty():
        return
    unknown = frame.filter(
        _is_naf25_code_kept(pl.col(ACTIVITY), codes)
        & (pl.col(NOMENCLATURE).fill_null("") != NAF_REV2)
        & ~pl.col(NOMENCLATURE).fill_null("").is_in(codes.nomenclatures)
    )
    if unknown.is_empty():
        return
    values = unknown.group_by(pl.col(NOMENCLATURE).fill_null("(empty)")).len().sort("len", descending=True)
    found = ", ".join(f"{value!r} ({count} establishments)" for value, count in values.iter_rows())
    example = unknown.row(0, named=True)
    raise ParseError(
        f"{where}: column {NOMENCLATURE}: establishments whose {ACTIVITY} is a NAF 2025 code "
        f"(e.g. {example[ACTIVITY]}, SIRET {example.get('siret', '?')}) carry the nomenclature value {found}, "
        f"neither NAFRev2 nor a NAF 2025 value the catalogue knows ({', '.join(codes.nomenclatures)}). "
        f"If it is INSEE's name for NAF 2025, add it to `parse: naf25_nomenclatures` and to the value set "
        f"of {NOMENCLATURE} in {_catalogue_file(source)}"
    )


def _is_naf25_code_kept(column: pl.Expr, codes: Codes) -> pl.Expr:
    """A main activity the filter keeps as a NAF 2025 code (the polars twin of _activity_filter's clause)."""
    kept = column.is_in(codes.naf25_spellings)
    if codes.naf25_prefixes:
        starts = pl.any_horizontal(column.str.starts_with(prefix) for prefix in codes.naf25_prefix_spellings)
        kept = kept | (starts & column.str.contains(f"^{NAF25_SHAPE}$"))
    return kept


def required_columns(source: str = SOURCE) -> tuple[str, ...]:
    """The columns the filter needs and those the catalogue requires."""
    try:
        declared = get_source(source).entities.get(ENTITY, {}).get("columns", [])
    except CatalogueError:
        declared = []
    return tuple(dict.fromkeys([STATE, NOMENCLATURE, ACTIVITY, PERIOD_START, *declared]))


def check_stock_month(frame: pl.DataFrame, vintage: str, where: str) -> None:
    """Refuse a file that is another month's stock than its YYYY-MM vintage.

    The stock of month M holds what INSEE processed up to the end of month M-1: its
    establishments were last processed in M-1 at the latest (a handful in the first hours
    of M). A URL serving "the latest stock" moves on every month: this is what catches it.
    """
    match = MONTH_VINTAGE.match(vintage)
    if match is None or PROCESSED not in frame.columns or frame.is_empty():
        return
    year, month = int(match.group(1)), int(match.group(2))
    previous = f"{year - 1}-12" if month == 1 else f"{year}-{month - 1:02d}"
    months = frame.get_column(PROCESSED).str.slice(0, 7)
    newest = frame.get_column(PROCESSED).max()
    late = int((months >= vintage).sum())
    if late > max(LATE_ROWS_TOLERATED, frame.height // 1000):
        raise ParseError(
            f"{where}: {late} establishments were processed in {vintage} or later (newest {newest}), so "
            f"this is a later monthly stock than {vintage}, which holds what INSEE processed up to the end "
            f"of {previous}. A 'latest' URL has probably moved on: add the new month as a vintage and point "
            f"{vintage} at its dated archive ({vintage}-01-StockEtablissement_utf8.zip)"
        )
    if int((months == previous).sum()) == 0 and late == 0:
        raise ParseError(
            f"{where}: the newest processing date is {newest}, before {previous}, so this is an older "
            f"stock than {vintage} (the stock of a month holds what INSEE processed up to the end of "
            f"the month before); fetch it again once the {vintage} stock is published"
        )


def _read_parquet(
    path: Path, codes: Codes, closed_since: date | None, required: Sequence[str], where: str
) -> pl.DataFrame:
    with tempfile.TemporaryDirectory(prefix="insee_sirene-") as work, _connect(Path(work)) as con:
        try:
            con.read_parquet(str(path)).create_view("stock")
        except duckdb.Error as exc:
            raise ParseError(f"{where}: not a complete Parquet file ({_first_line(exc)})") from None
        return _select(con, codes, closed_since, required, where)


def _read_zipped_csv(
    path: Path, codes: Codes, closed_since: date | None, required: Sequence[str], where: str
) -> pl.DataFrame:
    try:
        members = [m for m in list_members(path) if m.lower().endswith(".csv")]
    except ArchiveError as exc:
        raise ParseError(f"{where}: {exc}") from None
    if len(members) != 1:
        found = ", ".join(members) or "none"
        raise ParseError(f"{where}: expected one CSV file in the archive (StockEtablissement_utf8.csv), found {found}")
    member = members[0]
    where = f"{where} ({member})"
    with tempfile.TemporaryDirectory(prefix="insee_sirene-") as work:
        csv_path = Path(work) / "stock.csv"
        try:
            # No size limit: the national CSV is about 8 GB once uncompressed.
            with open_member(path, member, max_bytes=None) as stream, open(csv_path, "wb") as out:
                shutil.copyfileobj(stream, out, 16 * 1024 * 1024)
        except ArchiveError as exc:
            raise ParseError(f"{where}: {exc}") from None
        with open(csv_path, "rb") as handle:
            if not handle.read(65536).strip():
                raise ParseError(f"{where}: the file is empty")
        with _connect(Path(work)) as con:
            try:
                # Every column as text: codes keep their leading zeros.
                con.read_csv(str(csv_path), header=True, sep=",", quotechar='"', all_varchar=True).create_view("stock")
            except duckdb.Error as exc:
                raise ParseError(f"{where}: {_csv_problem(exc)}") from None
            return _select(con, codes, closed_since, required, where, csv=True)


def _connect(work: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(
        config={
            "memory_limit": DUCKDB_MEMORY_LIMIT,
            "temp_directory": str(work / "spill"),
            "preserve_insertion_order": False,
        }
    )


def _select(
    con: duckdb.DuckDBPyConnection,
    codes: Codes,
    closed_since: date | None,
    required: Sequence[str],
    where: str,
    *,
    csv: bool = False,
) -> pl.DataFrame:
    """Run the filtered scan of the `stock` view; every kept column comes back as text."""
    try:
        types = {row[0]: row[1] for row in con.execute("describe stock").fetchall()}
    except duckdb.Error as exc:
        problem = _csv_problem(exc) if csv else _parquet_problem(exc)
        raise ParseError(f"{where}: {problem}") from None
    _check_columns(list(types), required, where)
    kept = [c for c in KEPT_COLUMNS if c in types]
    # The filter reads the file's own columns (a typed date compares as a date); the text comes after.
    query = f"""
        select {", ".join(f'{_as_text(c, types[c])} as "{c}"' for c in kept)}
        from stock
        where ({_state_filter(closed_since, types[PERIOD_START])})
          and ({_activity_filter(codes, has_naf25=ACTIVITY_NAF25 in types)})
        {"order by siret" if "siret" in kept else ""}
    """
    try:
        frame = con.execute(query).pl()
    except duckdb.Error as exc:
        problem = _csv_problem(exc) if csv else _parquet_problem(exc)
        raise ParseError(f"{where}: {problem}") from None
    if frame.is_empty() or not frame.get_column(STATE).eq("A").any():
        raise ParseError(
            f"{where}: no active establishment with the NAF codes {codes.describe()} in the file; "
            "is it the StockEtablissement file, and complete?"
        )
    return frame.select(pl.all().cast(pl.Utf8))


def _state_filter(closed_since: date | None, period_start_type: str) -> str:
    """SQL keeping the active establishments, and the closed ones whose closed state began on or after closed_since."""
    active = f""""{STATE}" = 'A'"""
    if closed_since is None:
        return active
    # INSEE's CSV writes its dates YYYY-MM-DD: as text they compare in date order.
    start = f'"{PERIOD_START}"' if period_start_type == "VARCHAR" else f'cast("{PERIOD_START}" as date)'
    day = f"'{closed_since.isoformat()}'" if period_start_type == "VARCHAR" else f"DATE '{closed_since.isoformat()}'"
    return f"""{active} or ("{STATE}" = 'F' and {start} >= {day})"""


def _activity_filter(codes: Codes, *, has_naf25: bool) -> str:
    """SQL keeping the wanted activities, in NAF rév. 2 or in NAF 2025 (see the module docstring).

    The codes and prefixes are checked by check_naf_codes, check_naf25_codes and check_naf_prefixes:
    no quote can get in.
    """
    rev2 = _code_filter(ACTIVITY, codes.rev2, codes.rev2_prefixes)
    clauses = [f""""{NOMENCLATURE}" = '{NAF_REV2}' and ({rev2})"""]
    if codes.has_naf25:
        # with and without the dot: the stocks seen so far write 56.30Y, INSEE's NAF 2025 tools 5630Y
        naf25 = (codes.naf25_spellings, codes.naf25_prefix_spellings)
        if has_naf25:  # in the stocks since December 2025
            clauses.append(_code_filter(ACTIVITY_NAF25, *naf25))
        # From 2027 the main activity is in NAF 2025 (its codes cannot be rév. 2 codes: they end in Y or G…X).
        main = _code_filter(ACTIVITY, *naf25, naf25_shape=True)
        clauses.append(f"""coalesce("{NOMENCLATURE}", '') <> '{NAF_REV2}' and ({main})""")
    return " or ".join(f"({clause})" for clause in clauses)


def _code_filter(column: str, codes: Sequence[str], prefixes: Sequence[str], *, naf25_shape: bool = False) -> str:
    """SQL: the column holds one of the codes, or starts with one of the prefixes (with naf25_shape, and
    also looks like a NAF 2025 code, so that an older nomenclature's code of the same digits stays out)."""
    clauses = []
    if codes:
        clauses.append(f""""{column}" in ({", ".join(f"'{code}'" for code in codes)})""")
    if prefixes:
        starts = " or ".join(f"""starts_with("{column}", '{prefix}')""" for prefix in prefixes)
        shape = f""" and regexp_full_match("{column}", '{NAF25_SHAPE}')""" if naf25_shape else ""
        clauses.append(f"(({starts}){shape})")
    return " or ".join(clauses) or "false"


def _check_columns(present: list[str], required: Sequence[str], where: str) -> None:
    """Name every required column the file lacks, and the file's unknown columns that look like it.

    Done here rather than left to the validation: only the kept columns reach it, so a
    renamed column would be out of its sight.
    """
    unknown = [c for c in present if c not in STOCK_COLUMNS]
    problems = []
    for column in (c for c in required if c not in present):
        close = difflib.get_close_matches(column, unknown, n=3, cutoff=0.4)
        hint = f" (close match: {', '.join(repr(c) for c in close)}; did the column get renamed?)" if close else ""
        problems.append(f"column {column} is missing{hint}")
    if problems:
        essential = ", ".join(c for c in (STATE, NOMENCLATURE, ACTIVITY, PERIOD_START) if c not in present)
        if essential:
            problems.append(
                f"without {essential} the active establishments and the recent closures of the wanted NAF "
                "codes cannot be picked out"
            )
        raise ParseError(f"{where}: {'; '.join(problems)}. Is this the StockEtablissement file?")


def _as_text(column: str, duckdb_type: str) -> str:
    """SQL turning a column of any type the publishers use into the text the CSV would hold."""
    quoted = f'"{column}"'
    if duckdb_type == "VARCHAR":
        return quoted
    if duckdb_type == "DATE":
        return f"strftime({quoted}, '%Y-%m-%d')"
    if duckdb_type.startswith("TIMESTAMP"):
        return f"strftime({quoted}, '%Y-%m-%dT%H:%M:%S')"
    if duckdb_type == "BLOB":
        # Text stored as raw bytes: decode() fails on anything that is not UTF-8.
        return f"decode({quoted})"
    return f"cast({quoted} as varchar)"


def _parquet_problem(exc: duckdb.Error) -> str:
    if "utf" in str(exc).lower() or "unicode" in str(exc).lower():
        return (
            f"holds text that is not valid UTF-8 ({_first_line(exc)}); was it written in another "
            "encoding, such as latin-1?"
        )
    return f"cannot be read as Parquet ({_first_line(exc)})"


def _csv_problem(exc: duckdb.Error) -> str:
    lines = str(exc).strip().splitlines()
    # DuckDB names the line first and the problem on a later line.
    unicode = next((line for line in lines if "unicode" in line.lower() or "utf" in line.lower()), None)
    if unicode is not None:
        return (
            f"cannot be decoded as UTF-8 ({_first_line(exc)}: {unicode.strip()}); the publisher may have "
            "changed the encoding (the stock is StockEtablissement_utf8)"
        )
    return f"not a readable comma-separated file ({_first_line(exc)})"


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
