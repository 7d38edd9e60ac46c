"""Why a unit (commune, hospital, quartier) is or is not on a programme's list, down to the raw files.

`explain()` reads one row of programmes.<programme>_targets in the published warehouse:
each criterion and priority indicator with its value, vintage, threshold and result, then,
from each indicator's `source_vintages`, the raw snapshots the build loaded for those
sources and vintages (meta.raw_load_snapshots, meta.source_snapshots): source, vintage,
file, sha256, where and when it was fetched. For a hospital it also lists the communes of
its catchment (programmes.catchments), those that need the doctors most first.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import duckdb
import polars as pl

from pipelines.programmes.targets import about_build, require_programme_table

LINEAGE_COLUMNS = {
    "indicator_id": pl.Utf8, "source": pl.Utf8, "vintage": pl.Utf8, "file_name": pl.Utf8, "sha256": pl.Utf8,
    "loaded_at": pl.Utf8, "fetched_at": pl.Utf8, "origin": pl.Utf8, "url": pl.Utf8, "note": pl.Utf8,
}  # fmt: skip


class UnitNotFound(LookupError):
    """The code is not one of the programme's units."""


@dataclass
class Explanation:
    """One unit's row of a programme, its reasons, its lineage and, for a hospital, its catchment."""

    programme: str
    unit: dict[str, Any]
    criteria: pl.DataFrame
    priority: pl.DataFrame
    lineage: pl.DataFrame
    build: dict[str, Any]
    catchment: pl.DataFrame | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "programme": self.programme,
            "unit": self.unit,
            "criteria": self.criteria.to_dicts(),
            "priority": self.priority.to_dicts(),
            "catchment": None if self.catchment is None else self.catchment.to_dicts(),
            "lineage": self.lineage.to_dicts(),
            "build": self.build,
        }

# What a code of each unit looks like, for the message of an unknown one.
CODE_HINTS = {
    "commune": "the 5-character INSEE code of a commune of the target geography, e.g. 71153 or 2A004",
    "hospital": "the 9-character FINESS number of one of the programme's hospitals",
    "qpv": "the code of a quartier prioritaire, QP… (2015) or QN… (2024)",
}


def parse_source_vintages(text: str | None) -> list[tuple[tuple[str, ...], str | None]]:
    """`source_vintages` of indicators.long as ((alternative sources), vintage or None) pairs.

    "sncf_stations/insee_bpe 2024, commune_locations, etalab_decoupage 2025, 2026" gives
    (sncf_stations, insee_bpe) 2024, (commune_locations,) None, (etalab_decoupage,) 2025
    and 2026: a bare vintage continues the source before it.
    """
    pairs: list[tuple[tuple[str, ...], str | None]] = []
    sources: tuple[str, ...] = ()
    for token in (t.strip() for t in (text or "").split(",")):
        if not token:
            continue
        if sources and re.match(r"^[0-9]{4}", token):
            pairs.append((sources, token))
            continue
        name, _, vintage = token.partition(" ")
        sources = tuple(name.split("/"))
        pairs.append((sources, vintage.strip() or None))
    return pairs


def _current_loads(con: duckdb.DuckDBPyConnection, sources: list[str]) -> pl.DataFrame:
    """The files of the last load of each (source, vintage), with their fetch record."""
    return con.execute(
        """
        with loads as (
            select * from meta.raw_load_snapshots
            where list_contains(?, source)
            qualify loaded_at = max(loaded_at) over (partition by source, vintage)
        ),
        fetched as (
            select * from meta.source_snapshots
            qualify row_number() over (partition by source, vintage, sha256 order by fetched_at desc) = 1
        )
        select l.source, l.vintage, l.file_name, l.snapshot_sha256 as sha256, l.loaded_at::varchar as loaded_at,
               f.fetched_at::varchar as fetched_at, f.origin, f.url
        from loads as l
        left join fetched as f on f.source = l.source and f.vintage = l.vintage and f.sha256 = l.snapshot_sha256
        order by l.source, l.vintage, l.file_name
        """,
        [sources],
    ).pl()


def lineage_of(con: duckdb.DuckDBPyConnection, used: pl.DataFrame) -> pl.DataFrame:
    """The raw snapshots behind each (indicator_id, source_vintages) of `used`."""
    parsed = {
        (row["indicator_id"], row["source_vintages"]): parse_source_vintages(row["source_vintages"])
        for row in used.iter_rows(named=True)
    }
    sources = sorted({s for pairs in parsed.values() for alternatives, _ in pairs for s in alternatives})
    loads = _current_loads(con, sources)
    rows: list[dict[str, Any]] = []
    for (indicator_id, _), pairs in parsed.items():
        for alternatives, vintage in pairs:
            found = loads.filter(pl.col("source").is_in(alternatives))
            if vintage is not None:
                found = found.filter(pl.col("vintage") == vintage)
            note = "" if vintage is not None else "vintage not stated by the indicator: every vintage loaded"
            if found.is_empty():
                note = "no load of this source and vintage is recorded in meta.raw_load_snapshots"
                source = "/".join(alternatives)
                rows.append({"indicator_id": indicator_id, "source": source, "vintage": vintage, "note": note})
            rows.extend({"indicator_id": indicator_id, **r, "note": note} for r in found.to_dicts())
    return pl.DataFrame(rows, schema=LINEAGE_COLUMNS)


def explain(con: duckdb.DuckDBPyConnection, programme: str, code: str) -> Explanation:
    """The row of `code` in programmes.<programme>_targets, its reasons and lineage (and a hospital's catchment)."""
    table = require_programme_table(con, programme)
    row = con.execute(f"select * exclude (reasons, priority) from {table} where code = ?", [code]).pl()
    if row.is_empty():
        unit = con.execute(f"select any_value(unit) from {table}").fetchone()[0] or "commune"
        raise UnitNotFound(f"{code!r} is not one of the {unit} units of {table}: give {CODE_HINTS.get(unit, 'its code')}")
    criteria = con.execute(
        f"""
        select r.tier, r.indicator_id, r.value, r.category, r.vintage,
               r.operator, r.threshold, r.passed, r.source_vintages
        from (select unnest(reasons) as r from {table} where code = ?)
        """,
        [code],
    ).pl()
    priority = con.execute(
        f"""
        select p.indicator_id, p.value, p.vintage, p.weight, p.higher_is_priority, p.normalise, p.normalised,
               p.source_vintages
        from (select unnest(priority) as p from {table} where code = ?)
        """,
        [code],
    ).pl()
    used = pl.concat([frame.select("indicator_id", "source_vintages") for frame in (criteria, priority)])
    used = used.filter(pl.col("source_vintages").is_not_null()).unique(maintain_order=True)
    unit = row.to_dicts()[0]
    unit["missing_indicators"] = list(unit.get("missing_indicators") or [])
    catchment = catchment_of(con, code) if unit["unit"] == "hospital" else None
    return Explanation(programme, unit, criteria, priority, lineage_of(con, used), about_build(con), catchment)


def catchment_of(con: duckdb.DuckDBPyConnection, code: str) -> pl.DataFrame:
    """The communes of a hospital's catchment, those that need the doctors most first.

    Medical deserts first, then the lowest APL, then the fewest GPs for 10,000 inhabitants,
    then the most populated (programmes.catchments).
    """
    return con.execute(
        """
        select commune_code, commune_name, departement_code, round(distance_km, 1) as distance_km, membership,
               population, gp_apl, is_medical_desert, gp_count, gp_per_10k
        from programmes.catchments
        where unit = 'hospital' and code = ?
        order by is_medical_desert desc nulls last, gp_apl nulls last, gp_per_10k nulls last, population desc, commune_code
        """,
        [code],
    ).pl()


def _value_text(value: Any) -> str:
    if value is None:
        return "(no value)"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.3f}".rstrip("0")
    return str(value)


def render_explanation(explanation: Explanation, fmt: str = "table") -> str:
    """An explanation as text for a person, or JSON."""
    if fmt == "json":
        return json.dumps(explanation.to_dict(), ensure_ascii=False, default=str, indent=1)
    c, b = explanation.unit, explanation.build
    if c["eligible"]:
        status = (f"ELIGIBLE, tier {c['tier']}, score {c['score']:.1f}/100, rank {c['rank_france']} in the programme, "
                  f"{c['rank_departement']} in département {c['departement_code']}")  # fmt: skip
    elif not c["in_area"]:
        status = "not eligible: outside the programme's area (filters of the rule file)"
    else:
        status = "not eligible"
    where = "" if c["unit"] == "commune" else f"{c['unit']} in {c['commune_name']} ({c['commune_code']}), "
    people = "catchment population" if c["unit"] == "hospital" else "population"
    lines = [
        f"{explanation.programme} · {c['code']} {c['name']} "
        f"({where}département {c['departement_code']}, région {c['region_code']}, {people} {c['population']})",
        f"  {status}",
        f"  rule {c['rule_file']} version {c['rule_version']}; build {b.get('build_id')} "
        f"({str(b.get('built_at', ''))[:19]}); geography {c['geography_vintage']}"
        + ("; SAMPLE DATA" if b.get("sample_data") else ""),
    ]
    if c["missing_indicators"]:
        lines.append(f"  no value for: {', '.join(c['missing_indicators'])} (a missing value fails its criterion)")
    lines += ["", "Eligibility (criteria without a tier apply to every tier; the first tier that holds is kept)"]
    for r in explanation.criteria.iter_rows(named=True):
        result = {True: "pass", False: "fail", None: "MISSING"}[r["passed"]]
        tier = f"tier {r['tier']}" if r["tier"] is not None else "all"
        value = r["category"] or _value_text(r["value"])
        lines.append(
            f"  {tier:<7} {r['indicator_id']:<30} {value:>12} [{r['vintage'] or '-'}]  "
            f"{r['operator']} {r['threshold']:<12} {result}"
        )
    if not explanation.priority.is_empty():
        lines += ["", "Priority (each indicator scaled 0–1 over the eligible units, 1 = most priority)"]
        for p in explanation.priority.iter_rows(named=True):
            direction = "higher first" if p["higher_is_priority"] else "lower first"
            normalised = "-" if p["normalised"] is None else f"{p['normalised']:.3f}"
            lines.append(
                f"  {p['indicator_id']:<30} {_value_text(p['value']):>12} [{p['vintage'] or '-'}]  "
                f"weight {p['weight']:g}, {direction}, {p['normalise']}: {normalised}"
            )
    if explanation.catchment is not None:
        lines += ["", f"Catchment: {explanation.catchment.height} communes, those that need the doctors most first "
                      "(radius or nearest hospital; APL, medical desert, GPs for 10,000)"]  # fmt: skip
        for r in explanation.catchment.iter_rows(named=True):
            desert = {True: "DESERT", False: "", None: "APL ?"}[r["is_medical_desert"]]
            lines.append(
                f"  {r['commune_code']} {r['commune_name']:<30} {r['distance_km']:>6} km  {r['membership']:<18} "
                f"pop {r['population'] or 0:>7}  APL {_value_text(r['gp_apl']):>6}  {desert:<6}  "
                f"GPs {_value_text(r['gp_count']):>4} ({_value_text(r['gp_per_10k'])} /10k)"
            )
    lines += ["", "Lineage (indicator ← sources and vintages)"]
    for indicator_id, group in explanation.lineage.group_by("indicator_id", maintain_order=True):
        named = (f"{r['source']} {r['vintage'] or ''}".strip() for r in group.iter_rows(named=True))
        sources = ", ".join(dict.fromkeys(named))
        lines.append(f"  {indicator_id[0]:<30} ← {sources}")
    lines += ["", "Raw snapshots loaded for them (meta.raw_load_snapshots, meta.source_snapshots)"]
    snapshots = explanation.lineage.drop("indicator_id").unique(maintain_order=True)
    for r in snapshots.sort("source", "vintage", "file_name", nulls_last=True).iter_rows(named=True):
        if r["sha256"] is None:
            lines.append(f"  {r['source']} {r['vintage'] or ''}: {r['note']}")
            continue
        fetched = f"{r['origin'] or '?'}, fetched {(r['fetched_at'] or '?')[:19]}"
        lines.append(
            f"  {r['source']:<22} {r['vintage'] or '-':<9} {r['file_name']:<40} sha256 {r['sha256']}  ({fetched})"
        )
    return "\n".join(lines)

