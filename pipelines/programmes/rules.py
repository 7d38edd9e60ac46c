"""Programme rule files: load them, check them, and lay them out as tables for dbt.

One YAML file per programme in `pipelines/programmes/rules/`, named after the programme
id. A rule file says who uses the programme, what it targets (`unit`: communes, hospitals
or quartiers prioritaires), where it acts (`filters`), which units are eligible
(`eligibility`, with optional tiers), in what order they come (`priority`: weighted,
normalised indicators), how far a unit must move to be reported as a change
(`changes.rank_threshold`) and which value changes to report whatever the list
(`changes.alerts`). See `rules/cafes.yml` for a commented example.

Everything is checked here, when the Dagster definitions load, before anything is built:
an unknown indicator id, a threshold of the wrong type or an unknown operator stops the
build with a message naming the file and the line to fix.
"""

from __future__ import annotations

import csv
import hashlib
import math
import os
import re
import reprlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import yaml

from pipelines.settings import DBT_PROJECT_DIR, PROJECT_ROOT
from pipelines.sources.catalogue import SAFE_LOADER

RULES_DIR = Path(__file__).parent / "rules"


def configured_rules_dir() -> Path:
    """The rule files' folder: TERRITOIRES_RULES_DIR, or the project's pipelines/programmes/rules/."""
    value = os.environ.get("TERRITOIRES_RULES_DIR", "").strip()
    return Path(value).expanduser().resolve() if value else RULES_DIR
MODELS_DIR = DBT_PROJECT_DIR / "models" / "marts" / "programmes"
INDICATOR_DEFINITIONS = DBT_PROJECT_DIR / "seeds" / "indicator_definitions.csv"
INDICATOR_CATEGORIES = DBT_PROJECT_DIR / "seeds" / "indicator_categories.csv"
UNIT_INDICATOR_DEFINITIONS = DBT_PROJECT_DIR / "seeds" / "unit_indicator_definitions.csv"

# What a programme targets: communes (indicators.long at commune level), hospitals (FINESS,
# with their catchment) or quartiers prioritaires (QPV, with INSEE's statistics).
UNITS = ("commune", "hospital", "qpv")
ALERT_COMPARISONS = ("<", "<=", ">", ">=", "=")

OPERATORS = ("<", "<=", ">", ">=", "=", "in")
NORMALISATIONS = ("rank", "min_max")
DEFAULT_RANK_THRESHOLD = 10

TOP_LEVEL_KEYS = {
    "programme", "title", "version", "users", "description", "unit", "filters", "eligibility", "priority", "changes",
}  # fmt: skip
ALERT_KEYS = {"indicator", "before", "now", "says"}
CRITERION_KEYS = {"indicator", "operator", "threshold", "tier"}
PRIORITY_KEYS = {"indicator", "weight", "higher_is_priority", "normalise"}
FILTER_PATTERNS = {
    "regions": (r"^[0-9]{2}$", "a 2-character région code such as '27'"),
    "departements": (r"^([0-9]{2}|2[AB]|97[1-6])$", "a département code such as '71', '2A' or '974'"),
    "epcis": (r"^[0-9]{9}$", "a 9-digit EPCI SIREN such as '200070795'"),
    # INSEE's levels (geo.commune's columns; codes as in the table d'appartenance)
    "arrondissements": (r"^([0-9]{3}|2[AB][0-9]|97[1-6][0-9])$", "an arrondissement code such as '711' or '9742'"),
    "cantons": (r"^[0-9A-Z]{4,5}$", "a canton-ville code such as '7107' or '97401'"),
    "zones_emploi": (r"^[0-9]{4}$", "a 4-digit zone d'emploi 2020 code such as '2710'"),
    "unites_urbaines": (r"^[0-9][0-9A-Z][0-9]{3}$", "an unité urbaine 2020 code such as '71401' or '71000'"),
    "aires_attraction": (r"^[0-9][0-9A-Z][0-9]$", "an aire d'attraction 2020 code such as '183' or '000'"),
    "bassins_vie": (r"^([0-9]{2}|2[AB])[0-9]{3}$", "a bassin de vie 2022 code such as '71153'"),
}
# The column of programmes' units (geo.commune's) each filter tests.
FILTER_COLUMNS = {
    "regions": "region_code", "departements": "departement_code", "epcis": "epci_code",
    "arrondissements": "arrondissement_code", "cantons": "canton_code", "zones_emploi": "zone_emploi_code",
    "unites_urbaines": "unite_urbaine_code", "aires_attraction": "aire_attraction_code", "bassins_vie": "bassin_vie_code",
}  # fmt: skip
PROGRAMME_ID = re.compile(r"[a-z][a-z0-9_]*")
MAX_RANK_THRESHOLD = 2**31 - 1  # rank_threshold is an INTEGER column


class ProgrammeRuleError(ValueError):
    """A rule file is wrong, or a programme is unknown; the message says what to fix."""


@dataclass(frozen=True)
class Criterion:
    """One eligibility test: `<indicator> <operator> <threshold>`, for every tier or for one."""

    indicator: str
    operator: str
    threshold: float | str | tuple[float, ...] | tuple[str, ...]
    tier: int | None = None
    on_category: bool = False  # compares the category code of a typology, not its value

    @property
    def threshold_text(self) -> str:
        """The threshold as a person would write it: `3500`, `[frr_plus, frr_socle]`."""
        values = self.threshold if isinstance(self.threshold, tuple) else (self.threshold,)
        shown = ", ".join(_number_text(v) if isinstance(v, float) else str(v) for v in values)
        return f"[{shown}]" if self.operator == "in" else shown


@dataclass(frozen=True)
class PriorityIndicator:
    """One weighted part of the priority score."""

    indicator: str
    weight: float
    higher_is_priority: bool
    normalise: str = "rank"


@dataclass(frozen=True)
class Alert:
    """A change to report: `indicator` was `before` in the previous list and is `now` (e.g. cafe_count >= 1, then = 0)."""

    indicator: str
    before: tuple[str, float]
    now: tuple[str, float]
    says: str


@dataclass(frozen=True)
class ProgrammeRules:
    """A programme's rule file, checked."""

    programme: str
    title: str
    version: str
    users: str
    description: str
    filters: dict[str, tuple[str, ...]]
    eligibility: tuple[Criterion, ...]
    priority: tuple[PriorityIndicator, ...]
    rank_threshold: int
    path: Path
    sha256: str = field(repr=False, default="")
    unit: str = "commune"
    alerts: tuple[Alert, ...] = ()

    @property
    def rule_file(self) -> str:
        """The rule file's path from the project root, as recorded in the warehouse."""
        try:
            return str(self.path.resolve().relative_to(PROJECT_ROOT))
        except ValueError:
            return str(self.path)

    @property
    def indicators(self) -> list[str]:
        """Every indicator the programme reads, eligibility first, without repeats."""
        ids = [c.indicator for c in self.eligibility] + [p.indicator for p in self.priority]
        return list(dict.fromkeys(ids))


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def indicator_formulas(unit: str = "commune") -> dict[str, str]:
    """The indicators a programme of this unit can read: id → formula (`category` for typologies).

    Communes read indicators.long (dbt seed indicator_definitions); hospitals and quartiers
    read the indicators of the seed unit_indicator_definitions for their unit (values).
    """
    if unit == "commune":
        with INDICATOR_DEFINITIONS.open(encoding="utf-8", newline="") as handle:
            return {row["indicator_id"]: row["formula"] for row in csv.DictReader(handle)}
    with UNIT_INDICATOR_DEFINITIONS.open(encoding="utf-8", newline="") as handle:
        return {row["indicator_id"]: "value" for row in csv.DictReader(handle) if row["unit"] == unit}


def indicator_categories() -> dict[str, list[str]]:
    """Typology indicator id → its category codes, from the dbt seed."""
    categories: dict[str, list[str]] = {}
    with INDICATOR_CATEGORIES.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            categories.setdefault(row["indicator_id"], []).append(row["category"])
    return categories


def _is_number(value: Any) -> bool:
    """A finite number a float can hold (not .nan, .inf, nor a 400-digit integer)."""
    # YAML reads `yes`/`true` as booleans, which Python counts as numbers: refuse them.
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxlist, _REPR.maxdict, _REPR.maxstring, _REPR.maxother = 2, 5, 5, 80, 80


def _shown(value: Any) -> str:
    """A value of a rule file for a message, cut short (a YAML alias bomb or a huge string stays one short line)."""
    return _REPR.repr(value)


class _FileChecker:
    """Collects every problem of one rule file, so one run names them all."""

    def __init__(self, path: Path, categories: dict[str, list[str]]):
        self.path = path
        self.unit = "commune"
        self.formulas = indicator_formulas()
        self.categories = categories
        self.problems: list[str] = []

    def problem(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def text(self, data: dict, key: str, *, required: bool = True) -> str:
        value = data.get(key)
        if value is None:
            if required:
                self.problem(key, "missing (add it as a quoted string)")
            return ""
        if not isinstance(value, str):
            self.problem(key, f"must be a quoted string, got {_shown(value)} (YAML read it as {type(value).__name__})")
            return ""
        return value.strip()

    def indicator(self, where: str, item: dict) -> str | None:
        indicator = item.get("indicator")
        if not isinstance(indicator, str) or not indicator:
            self.problem(where, "`indicator` is missing: give an indicator id of indicators.catalogue")
            return None
        if indicator not in self.formulas:
            close = [i for i in self.formulas if i.split("_")[0] == indicator.split("_")[0]]
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            seed = "indicator_definitions.csv" if self.unit == "commune" else f"unit_indicator_definitions.csv (unit {self.unit})"
            self.problem(
                where,
                f"unknown indicator id {_shown(indicator)} for a programme of {self.unit} units{hint}; the ids are "
                f"those of dbt_project/seeds/{seed}: {', '.join(sorted(self.formulas))}",
            )
            return None
        return indicator

    def unknown_keys(self, where: str, item: dict, allowed: set[str]) -> None:
        extra = sorted(str(key)[:80] for key in set(item) - allowed)  # YAML keys may be numbers, dates or null
        if extra:
            self.problem(where, f"unknown key(s) {', '.join(extra)}; allowed: {', '.join(sorted(allowed))}")

    def criterion(self, index: int, item: Any) -> Criterion | None:
        where = f"eligibility[{index}]"
        if not isinstance(item, dict):
            self.problem(where, "each criterion is a mapping with indicator, operator, threshold (and optional tier)")
            return None
        self.unknown_keys(where, item, CRITERION_KEYS)
        indicator = self.indicator(where, item)
        where = f"{where} ({indicator or item.get('indicator')})"
        operator = item.get("operator")
        if operator not in OPERATORS:
            self.problem(where, f"operator {_shown(operator)} is not one of {', '.join(OPERATORS)} (quote it: \"<=\")")
            return None
        tier = item.get("tier")
        if tier is not None and not (isinstance(tier, int) and not isinstance(tier, bool) and tier >= 1):
            self.problem(where, f"tier must be a whole number from 1, got {_shown(tier)}")
            return None
        if "threshold" not in item:
            self.problem(where, "threshold is missing")
            return None
        threshold = item["threshold"]
        if operator == "in":
            if not isinstance(threshold, list) or not threshold:
                self.problem(where, f"operator `in` needs a list of values, e.g. [1, 2], got {_shown(threshold)}")
                return None
            values = threshold
        else:
            if isinstance(threshold, (list, dict)):
                self.problem(
                    where, f"operator {_shown(operator)} needs one value, got {_shown(threshold)} (use `in` for a list)"
                )
                return None
            values = [threshold]
        if indicator is None:
            return None
        on_category = self.formulas[indicator] == "category" and all(isinstance(v, str) for v in values)
        if on_category:
            if operator not in ("=", "in"):
                self.problem(where, f"a category code can only be tested with = or in, not {_shown(operator)}")
                return None
            known = self.categories.get(indicator, [])
            unknown = [v for v in values if v not in known]
            if unknown:
                self.problem(
                    where, f"unknown {indicator} categories {_shown(unknown)}; the categories are: {', '.join(known)}"
                )
                return None
            parsed: Any = tuple(values) if operator == "in" else values[0]
        else:
            wrong = [v for v in values if not _is_number(v)]
            if wrong and isinstance(wrong[0], (int, float)) and not isinstance(wrong[0], bool):
                self.problem(where, f"threshold {_shown(wrong[0])} is not a finite number (floats stop near 1e308)")
                return None
            if wrong:
                kind = " or a category code" if self.formulas[indicator] == "category" else ""
                self.problem(
                    where,
                    f"threshold {_shown(wrong[0])} is a {type(wrong[0]).__name__}: "
                    f"{indicator} is compared with a number{kind}"
                    " (write 3500, not \"3500\")",
                )
                return None
            numbers = tuple(float(v) for v in values)
            parsed = numbers if operator == "in" else numbers[0]
        return Criterion(indicator, operator, parsed, tier, on_category)

    def priority_indicator(self, index: int, item: Any) -> PriorityIndicator | None:
        where = f"priority[{index}]"
        if not isinstance(item, dict):
            self.problem(where, "each priority entry is a mapping with indicator, weight, higher_is_priority")
            return None
        self.unknown_keys(where, item, PRIORITY_KEYS)
        indicator = self.indicator(where, item)
        where = f"{where} ({indicator or item.get('indicator')})"
        weight = item.get("weight")
        if not _is_number(weight) or weight <= 0:
            self.problem(where, f"weight must be a number above 0, got {_shown(weight)}")
            return None
        higher = item.get("higher_is_priority")
        if not isinstance(higher, bool):
            self.problem(where, f"higher_is_priority must be true or false, got {_shown(higher)}")
            return None
        normalise = item.get("normalise", "rank")
        if normalise not in NORMALISATIONS:
            self.problem(where, f"normalise must be one of {', '.join(NORMALISATIONS)}, got {_shown(normalise)}")
            return None
        if indicator is None:
            return None
        return PriorityIndicator(indicator, float(weight), higher, normalise)

    def filters(self, data: Any) -> dict[str, tuple[str, ...]]:
        filters: dict[str, tuple[str, ...]] = {name: () for name in FILTER_PATTERNS}
        if data is None:
            return filters
        if not isinstance(data, dict):
            self.problem("filters", f"must be a mapping with optional lists {', '.join(FILTER_PATTERNS)}")
            return filters
        self.unknown_keys("filters", data, set(FILTER_PATTERNS))
        for name, (pattern, example) in FILTER_PATTERNS.items():
            codes = data.get(name) or []
            if not isinstance(codes, list):
                self.problem(f"filters.{name}", f"must be a list of codes, got {_shown(codes)}")
                continue
            for code in codes:
                if not isinstance(code, str):
                    self.problem(
                        f"filters.{name}",
                        f"code {_shown(code)} must be a quoted string, {example} (YAML reads 01 as the number 1)",
                    )
                elif not re.fullmatch(pattern, code):
                    self.problem(f"filters.{name}", f"{_shown(code)} is not {example}")
            filters[name] = tuple(c for c in codes if isinstance(c, str))
        return filters

    def check(self, data: Any) -> ProgrammeRules | None:
        if not isinstance(data, dict):
            self.problem("file", "must be a YAML mapping (programme, title, version, users, eligibility, priority…)")
            return None
        self.unknown_keys("file", data, TOP_LEVEL_KEYS)
        programme = self.text(data, "programme")
        if programme and programme != self.path.stem:
            self.problem(
                "programme",
                f"{_shown(programme)} must be the file's name: rename the file {programme}.yml or fix the id",
            )
        if programme and not PROGRAMME_ID.fullmatch(programme):
            self.problem("programme", f"{_shown(programme)} must be lower case letters, digits and _ (it names tables)")
        unit = data.get("unit", "commune")
        if unit not in UNITS:
            self.problem("unit", f"{_shown(unit)} is not one of {', '.join(UNITS)} (what the programme ranks)")
        else:
            self.unit, self.formulas = unit, indicator_formulas(unit)
        title = self.text(data, "title")
        version = self.text(data, "version")
        users = self.text(data, "users")
        description = self.text(data, "description", required=False)
        filters = self.filters(data.get("filters"))

        eligibility_items = data.get("eligibility")
        if not isinstance(eligibility_items, list) or not eligibility_items:
            self.problem("eligibility", "must be a non-empty list of criteria (indicator, operator, threshold)")
            eligibility_items = []
        criteria = [self.criterion(i, item) for i, item in enumerate(eligibility_items)]
        tiers = sorted({c.tier for c in criteria if c and c.tier is not None})
        if all(criteria) and tiers and tiers != list(range(1, len(tiers) + 1)):
            self.problem("eligibility", f"tiers must be numbered 1, 2, … without gaps, got {tiers}")

        priority_items = data.get("priority") or []
        if not isinstance(priority_items, list):
            self.problem("priority", "must be a list of weighted indicators")
            priority_items = []
        weights = [self.priority_indicator(i, item) for i, item in enumerate(priority_items)]
        counts = Counter(w.indicator for w in weights if w)
        repeated = sorted(indicator for indicator, count in counts.items() if count > 1)
        if repeated:
            self.problem("priority", f"indicator(s) {', '.join(repeated)} listed twice: give each one weight")

        changes = data.get("changes") or {}
        rank_threshold = DEFAULT_RANK_THRESHOLD
        alerts: list[Alert] = []
        if not isinstance(changes, dict):
            self.problem("changes", "must be a mapping such as {rank_threshold: 10}")
        else:
            self.unknown_keys("changes", changes, {"rank_threshold", "alerts"})
            alert_items = changes.get("alerts") or []
            if not isinstance(alert_items, list):
                self.problem("changes.alerts", "must be a list of {indicator, before, now, says}")
                alert_items = []
            alerts = [a for a in (self.alert(i, item) for i, item in enumerate(alert_items)) if a]
            rank_threshold = changes.get("rank_threshold", DEFAULT_RANK_THRESHOLD)
            whole = isinstance(rank_threshold, int) and not isinstance(rank_threshold, bool)
            if not (whole and 0 <= rank_threshold <= MAX_RANK_THRESHOLD):
                self.problem(
                    "changes.rank_threshold",
                    f"must be a whole number of ranks (0 to {MAX_RANK_THRESHOLD}), got {_shown(rank_threshold)}",
                )
                rank_threshold = DEFAULT_RANK_THRESHOLD

        if self.problems:
            return None
        return ProgrammeRules(
            programme=programme, title=title, version=version, users=users, description=description,
            filters=filters, eligibility=tuple(c for c in criteria if c), priority=tuple(w for w in weights if w),
            rank_threshold=rank_threshold, path=self.path, sha256=hashlib.sha256(self.path.read_bytes()).hexdigest(),
            unit=self.unit, alerts=tuple(alerts),
        )  # fmt: skip

    def alert(self, index: int, item: Any) -> Alert | None:
        where = f"changes.alerts[{index}]"
        if not isinstance(item, dict):
            self.problem(where, 'each alert is a mapping: {indicator: cafe_count, before: ">= 1", now: "= 0", says: "lost its last café"}')
            return None
        self.unknown_keys(where, item, ALERT_KEYS)
        indicator = self.indicator(where, item)
        comparisons = [self.comparison(f"{where}.{key}", item.get(key)) for key in ("before", "now")]
        says = item.get("says")
        if not isinstance(says, str) or not says.strip():
            self.problem(f"{where}.says", "give the words of the alert as a quoted string, e.g. \"lost its last café\"")
            return None
        if indicator is None or None in comparisons:
            return None
        return Alert(indicator, comparisons[0], comparisons[1], says.strip())

    def comparison(self, where: str, text: Any) -> tuple[str, float] | None:
        """`">= 1"` as (">=", 1.0)."""
        match = re.fullmatch(r"\s*(<=|>=|<|>|=)\s*(-?[0-9]+(?:\.[0-9]+)?)\s*", text) if isinstance(text, str) else None
        if match is None:
            self.problem(where, f"{_shown(text)} must be a comparison with a number, quoted: \">= 1\", \"= 0\", \"< 2.5\"")
            return None
        return match[1], float(match[2])


def rule_files(rules_dir: Path | None = None) -> dict[str, Path]:
    """Programme id → its rule file, for every `<programme>.yml` of the folder (default: configured_rules_dir())."""
    paths = sorted(Path(rules_dir or configured_rules_dir()).glob("*.yml"))
    return {path.stem: path for path in paths if path.is_file()}


def load_rules(
    programmes: list[str] | tuple[str, ...] | None = None, rules_dir: Path | None = None
) -> dict[str, ProgrammeRules]:
    """Every programme's rules (or only those named), checked; raises ProgrammeRuleError.

    Every problem of every file is reported at once, each with the file, the entry and
    what to write instead.
    """
    rules_dir = Path(rules_dir or configured_rules_dir())
    files = rule_files(rules_dir)
    if not files:
        raise ProgrammeRuleError(f"no programme rule file in {rules_dir}: add one <programme>.yml per programme")
    for name in programmes or ():
        if name not in files:
            raise ProgrammeRuleError(
                f"unknown programme {_shown(name)}; the programmes are: {', '.join(files)} "
                f"(one rule file each in {rules_dir})"
            )
    categories = indicator_categories()
    rules: dict[str, ProgrammeRules] = {}
    problems: list[str] = []
    for name, path in files.items():
        if programmes and name not in programmes:
            continue
        checker = _FileChecker(path, categories)
        try:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER)
        except yaml.YAMLError as exc:
            problems.append(f"{path}: not valid YAML ({exc})")
            continue
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"{path}: cannot be read as UTF-8 text ({exc})")
            continue
        checked = checker.check(data)
        if checked is None:
            problems.append(f"{path}:\n" + "\n".join(f"  - {p}" for p in checker.problems))
        else:
            rules[name] = checked
    if problems:
        raise ProgrammeRuleError("programme rule files have problems; nothing was built:\n" + "\n".join(problems))
    return rules


def get_rules(programme: str, rules_dir: Path | None = None) -> ProgrammeRules:
    """One programme's rules; an unknown programme's error lists the known ones."""
    return load_rules([programme], rules_dir)[programme]


def check_dbt_models(rules: dict[str, ProgrammeRules], models_dir: Path | None = None) -> None:
    """Every programme needs its two dbt models and a place in the two union views."""
    models_dir = Path(models_dir or MODELS_DIR)
    problems = []
    for name in rules:
        for kind in ("targets", "changes"):
            model = f"programmes_{name}_{kind}"
            if not (models_dir / f"{model}.sql").is_file():
                problems.append(
                    f"programme {name!r} has a rule file but no dbt model {model}.sql in {models_dir}: "
                    f"copy programmes_cafes_{kind}.sql and change the programme id in it"
                )
            union = models_dir / f"programmes_{kind}.sql"
            if f"'{name}'" not in union.read_text(encoding="utf-8"):
                problems.append(f"programme {name!r} is missing from the list of programmes in {union}: add it")
    if problems:
        raise ProgrammeRuleError("\n".join(problems))


# --------------------------------------------------------------------------- tables for dbt

PROGRAMME_SCHEMA = {
    "programme": pl.Utf8, "title": pl.Utf8, "version": pl.Utf8, "users": pl.Utf8, "description": pl.Utf8, "unit": pl.Utf8,
    **{name: pl.List(pl.Utf8) for name in FILTER_PATTERNS},
    "rank_threshold": pl.Int32, "rule_file": pl.Utf8, "rule_sha256": pl.Utf8,
}  # fmt: skip
CRITERION_SCHEMA = {
    "programme": pl.Utf8, "criterion_no": pl.Int32, "tier": pl.Int32, "indicator_id": pl.Utf8,
    "operator": pl.Utf8, "compare_to": pl.Utf8, "threshold": pl.Float64,
    "threshold_values": pl.List(pl.Float64), "categories": pl.List(pl.Utf8), "threshold_text": pl.Utf8,
}  # fmt: skip
WEIGHT_SCHEMA = {
    "programme": pl.Utf8, "weight_no": pl.Int32, "indicator_id": pl.Utf8, "weight": pl.Float64,
    "higher_is_priority": pl.Boolean, "normalise": pl.Utf8,
}  # fmt: skip
ALERT_SCHEMA = {
    "programme": pl.Utf8, "alert_no": pl.Int32, "indicator_id": pl.Utf8, "before_operator": pl.Utf8,
    "before_threshold": pl.Float64, "now_operator": pl.Utf8, "now_threshold": pl.Float64, "says": pl.Utf8,
}  # fmt: skip


def _criterion_row(programme: str, number: int, c: Criterion) -> dict[str, Any]:
    values = c.threshold if isinstance(c.threshold, tuple) else (c.threshold,)
    return {
        "programme": programme, "criterion_no": number, "tier": c.tier, "indicator_id": c.indicator,
        "operator": c.operator, "compare_to": "category" if c.on_category else "value",
        "threshold": None if c.on_category or c.operator == "in" else c.threshold,
        "threshold_values": list(values) if not c.on_category and c.operator == "in" else None,
        "categories": list(values) if c.on_category else None, "threshold_text": c.threshold_text,
    }  # fmt: skip


def rule_tables(rules: dict[str, ProgrammeRules] | None = None) -> dict[str, pa.Table]:
    """The rules as four tables (programmes, criteria, weights, alerts) for the dbt programme models."""
    rules = load_rules() if rules is None else rules
    programmes = [
        {
            "programme": r.programme, "title": r.title, "version": r.version, "users": r.users,
            "description": r.description, "unit": r.unit, **{k: list(v) for k, v in r.filters.items()},
            "rank_threshold": r.rank_threshold, "rule_file": r.rule_file, "rule_sha256": r.sha256,
        }  # fmt: skip
        for r in rules.values()
    ]
    criteria = [_criterion_row(r.programme, i, c) for r in rules.values() for i, c in enumerate(r.eligibility, 1)]
    weights = [
        {"programme": r.programme, "weight_no": i, "indicator_id": w.indicator, "weight": w.weight,
         "higher_is_priority": w.higher_is_priority, "normalise": w.normalise}  # fmt: skip
        for r in rules.values()
        for i, w in enumerate(r.priority, 1)
    ]
    alerts = [
        {"programme": r.programme, "alert_no": i, "indicator_id": a.indicator, "before_operator": a.before[0],
         "before_threshold": a.before[1], "now_operator": a.now[0], "now_threshold": a.now[1], "says": a.says}  # fmt: skip
        for r in rules.values()
        for i, a in enumerate(r.alerts, 1)
    ]
    return {
        "programmes": pl.DataFrame(programmes, schema=PROGRAMME_SCHEMA).to_arrow(),
        "criteria": pl.DataFrame(criteria, schema=CRITERION_SCHEMA).to_arrow(),
        "weights": pl.DataFrame(weights, schema=WEIGHT_SCHEMA).to_arrow(),
        "alerts": pl.DataFrame(alerts, schema=ALERT_SCHEMA).to_arrow(),
    }
