"""The data files of the atlas, written from the published warehouse by DuckDB.

Every file is a script calling ATLAS.receive(key, payload) (pages opened from disk cannot
fetch JSON), under data/:

* meta.js — the build, the levels, the indicator catalogue (with France's values), the
  programmes, the régions and départements, the sources and their raw snapshots;
* shapes/<level>.js — the level's polygons as SVG paths in the drawing's units (projection.py);
* names/<level>.js — each area's name and its département and région;
* values/<indicator>.js — [code, value, coverage] per level and vintage;
* programmes/<programme>.js — the eligible units, by rank, with their reasons;
* portraits/<level>/<bucket>.js — per area: every indicator value with its rank in the
  area's département (communes), région (départements) or France (other levels), the
  département, région and France values, and for communes the median of the communes of the
  same density level (no rank and no median for a category); the programmes it is eligible for. A commune's bucket is its
  département (first 2 characters of the code, 3 for the DROM), any other area's the last
  character of its code.

Categorical indicators (formula 'category': density level, FRR, ZRR, centre programmes) are
drawn at commune level, their value being the category's rank (labels in meta).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import duckdb

from pipelines.atlas.projection import Layout, svg_paths
from pipelines.sources.catalogue import CatalogueError, get_source
from pipelines.warehouse.levels import area_names_sql

# The order levels are offered in; 'france' has no shape.
LEVEL_ORDER = ("region", "departement", "epci", "commune", "arrondissement", "canton", "zone_emploi",
               "unite_urbaine", "aire_attraction", "bassin_vie")  # fmt: skip
LEVEL_LABELS = {
    "region": ("Régions", "région"), "departement": ("Départements", "département"), "epci": ("EPCI", "EPCI"),
    "commune": ("Communes", "commune"), "arrondissement": ("Arrondissements", "arrondissement"),
    "canton": ("Cantons", "canton"), "zone_emploi": ("Zones d'emploi", "zone d'emploi"),
    "unite_urbaine": ("Unités urbaines", "unité urbaine"), "aire_attraction": ("Aires d'attraction des villes", "aire d'attraction"),
    "bassin_vie": ("Bassins de vie", "bassin de vie"),
}  # fmt: skip
PORTRAIT_LEVELS = LEVEL_ORDER
# An indicator's theme: that of the first source it lists.
THEMES = {
    "etalab_decoupage": "Population", "insee_population": "Population", "insee_census_age": "Population",
    "insee_census_housing": "Logement et mobilité", "transport_gtfs": "Logement et mobilité",
    "sncf_stations": "Logement et mobilité", "anct_france_services": "Services publics",
    "drees_apl": "Santé", "finess": "Santé", "insee_bpe": "Commerces et services", "insee_sirene": "Commerces et services",
    "insee_filosofi": "Revenus", "insee_density_grid": "Zonages", "anct_frr": "Zonages", "anct_zrr": "Zonages",
    "anct_littoral": "Zonages", "anct_centres": "Zonages", "anct_qpv": "Quartiers prioritaires",
}  # fmt: skip
# The geo.commune column each level is keyed on.
LEVEL_KEYS = {level: f"{level}_code" for level in LEVEL_ORDER}
DIGITS = 6  # significant digits kept in the values


def script(key: str, payload_json: str) -> str:
    return f"ATLAS.receive({json.dumps(key)}, {payload_json});\n"


def write_script(folder: Path, key: str, payload_json: str) -> Path:
    path = folder / "data" / f"{key}.js"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(script(key, payload_json), encoding="utf-8")
    return path


def shape_levels(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The levels geo.shapes has polygons of (none before any contour source is loaded)."""
    have = {row[0] for row in con.execute("select distinct level from geo.shapes").fetchall()}
    return [level for level in LEVEL_ORDER if level in have]


def area_levels(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The levels that have areas (an INSEE zoning whose table was never loaded has none)."""
    return [level for level in LEVEL_ORDER if con.execute(f"select count(*) from ({area_names_sql(level)})").fetchone()[0]]


def area_parents_sql() -> str:
    """(level, code, departement, region): the département and région holding most of an area's population."""
    parts = []
    for level, key in LEVEL_KEYS.items():
        parts.append(
            f"""
            select '{level}' as level, {key} as code,
                   arg_max(departement_code, population) as departement, arg_max(region_code, population) as region
            from (select {key}, departement_code, region_code, sum(coalesce(population, 0)) as population
                  from geo.commune where {key} is not null group by all)
            group by {key}
            """
        )
    return " union all ".join(parts)


def prepare(con: duckdb.DuckDBPyConnection, levels: list[str]) -> None:
    """The temporary tables the data files are written from, made once: atlas_values (one
    value per area, indicator and vintage) and atlas_parents (each area's département and région)."""
    con.execute(f"create or replace temp table atlas_values as {values_relation(levels)}")
    con.execute(f"create or replace temp table atlas_parents as {area_parents_sql()}")


def write_meta(con: duckdb.DuckDBPyConnection, folder: Path, levels: list[str], with_shapes: list[str]) -> dict:
    about = con.execute(
        "select build_id, strftime(built_at at time zone 'UTC', '%Y-%m-%dT%H:%M:%SZ'), sample_data, notice, "
        "geography_vintage, package_version from meta.about"
    ).fetchone()
    counts = {level: con.execute(f"select count(*) from ({area_names_sql(level)})").fetchone()[0] for level in levels}
    indicators = []
    for row in con.execute(
        """
        select c.indicator_id, c.label_fr, c.unit, c.definition, c.sources, c.formula, c.levels, c.vintages, c.latest_vintage,
               (select map_from_entries(list((l.vintage, l.value)))
                from indicators.long as l
                where l.indicator_id = c.indicator_id and l.level = 'france' and l.category is null and l.value is not null),
               (select list({'rank': k.category_rank, 'category': k.category, 'label': k.label_fr} order by k.category_rank)
                from indicators.categories as k where k.indicator_id = c.indicator_id)
        from indicators.catalogue as c
        order by c.indicator_id
        """
    ).fetchall():
        ident, label, unit, definition, sources, formula, ind_levels, vintages, latest, france, categories = row
        source_ids = [s.strip() for s in (sources or "").split(",") if s.strip()]
        categorical = formula == "category"
        indicators.append(
            {
                "id": ident, "label": label, "unit": unit, "definition": definition, "sources": source_ids,
                "category": THEMES.get(source_ids[0], "Autres") if source_ids else "Autres",
                "levels": [lv for lv in (["commune"] if categorical else ind_levels or []) if lv in levels],
                "vintages": list(vintages or []), "latest_vintage": latest,
                "france": {} if categorical else {k: v for k, v in (france or {}).items()},
                "categories": categories if categorical else None,
            }
        )  # fmt: skip
    programmes = [
        {"id": p, "title": title, "description": description, "unit": unit, "eligible": eligible, "tiers": tiers}
        for p, title, description, unit, eligible, tiers in con.execute(
            """
            select r.programme, r.title, r.description, r.unit,
                   count(t.code) filter (where t.eligible),
                   coalesce(list(distinct t.tier order by t.tier) filter (where t.eligible and t.tier is not null), [])
            from programmes.rules as r left join programmes.targets as t using (programme)
            group by all order by r.programme
            """
        ).fetchall()
    ]
    regions = [{"code": c, "name": n} for c, n in con.execute("select region_code, region_name from geo.region order by 1").fetchall()]
    departements = [
        {"code": c, "name": n, "region": r}
        for c, n, r in con.execute("select departement_code, departement_name, region_code from geo.departement order by 1").fetchall()
    ]
    sources: dict[str, dict] = {}
    for source, vintage, file_name, sha256, fetched_at, url in con.execute(
        "select source, vintage, file_name, sha256, strftime(fetched_at at time zone 'UTC', '%Y-%m-%dT%H:%M:%SZ'), url "
        "from meta.source_snapshots where sha256 in (select snapshot_sha256 from meta.raw_loads) order by all"
    ).fetchall():
        if source not in sources:
            try:
                spec = get_source(source)
                sources[source] = {"title": spec.title, "licence": spec.licence, "snapshots": []}
            except CatalogueError:  # a source no longer in the catalogue still has its snapshots listed
                sources[source] = {"title": source, "licence": None, "snapshots": []}
        sources[source]["snapshots"].append(
            {"vintage": vintage, "file": file_name, "sha256": sha256, "fetched_at": fetched_at, "url": url}
        )
    meta = {
        "build_id": about[0], "built_at": about[1], "sample_data": bool(about[2]), "notice": about[3],
        "geography_vintage": about[4], "package_version": about[5],
        "levels": [
            {"id": lv, "label": LEVEL_LABELS[lv][0], "label_one": LEVEL_LABELS[lv][1], "count": counts.get(lv, 0),
             "shapes": lv in with_shapes, "portraits": lv in PORTRAIT_LEVELS}
            for lv in levels
        ],
        "indicators": indicators, "programmes": programmes, "regions": regions, "departements": departements,
        "sources": sources,
    }  # fmt: skip
    write_script(folder, "meta", json.dumps(meta, ensure_ascii=False, default=str))
    return meta


def write_shapes(con: duckdb.DuckDBPyConnection, folder: Path, levels: list[str], frames: Layout) -> dict[str, int]:
    """shapes/<level>.js for each level; returns each file's size in bytes."""
    sizes = {}
    vintage = con.execute("select geography_vintage from meta.about").fetchone()[0]
    for level in levels:
        features = svg_paths(con, level, frames.frames)
        payload = json.dumps(
            {"level": level, "vintage": vintage, "width": frames.width, "height": frames.height,
             "insets": frames.insets, "features": features},
            ensure_ascii=False, separators=(",", ":"),
        )  # fmt: skip
        sizes[level] = write_script(folder, f"shapes/{level}", payload).stat().st_size
    return sizes


def write_names(con: duckdb.DuckDBPyConnection, folder: Path, levels: list[str]) -> None:
    for level in levels:
        (payload,) = con.execute(
            f"""
            select to_json({{
                'level': '{level}',
                'names': coalesce(map_from_entries(list((n.code, n.name) order by n.code)), map()),
                'parents': coalesce(map_from_entries(list((n.code, [p.departement, p.region]) order by n.code)), map())
            }})
            from ({area_names_sql(level)}) as n
            left join atlas_parents as p on p.level = '{level}' and p.code = n.code
            where n.code is not null
            """
        ).fetchone()
        write_script(folder, f"names/{level}", payload)


def values_relation(levels: Iterable[str]) -> str:
    """(indicator_id, level, code, vintage, value, coverage): one value per area, categorical ones at commune level."""
    in_levels = ", ".join(f"'{lv}'" for lv in levels)
    return f"""
        select l.indicator_id, l.level, l.code, l.vintage, round(l.value, {DIGITS}) as value, round(l.coverage, 4) as coverage
        from indicators.long as l
        join indicators.catalogue as c using (indicator_id)
        where l.level in ({in_levels})
          and ((c.formula <> 'category' and l.category is null) or (c.formula = 'category' and l.level = 'commune'))
    """


def _json_number(column: str) -> str:
    return f"coalesce(cast({column} as varchar), 'null')"


def write_values(con: duckdb.DuckDBPyConnection, folder: Path) -> int:
    """values/<indicator>.js for every indicator (from atlas_values, see prepare); returns the number of files."""
    rows = con.execute(
        f"""
        with cells as (
            select indicator_id, level, vintage,
                   '[' || string_agg('[' || to_json(code) || ',' || {_json_number('value')} || ',' || {_json_number('coverage')} || ']',
                                     ',' order by code) || ']' as items
            from atlas_values group by all
        ),
        per_level as (
            select indicator_id, level,
                   '{{' || string_agg(to_json(vintage) || ':' || items, ',' order by vintage) || '}}' as vintages
            from cells group by all
        )
        select indicator_id,
               '{{"indicator":' || to_json(indicator_id) || ',"levels":{{' || string_agg(to_json(level) || ':' || vintages, ',' order by level) || '}}}}'
        from per_level group by indicator_id
        """
    ).fetchall()
    for indicator, payload in rows:
        write_script(folder, f"values/{indicator}", payload)
    return len(rows)


def write_programmes(con: duckdb.DuckDBPyConnection, folder: Path) -> int:
    rows = con.execute(
        """
        select programme, any_value(unit),
               to_json(list({
                   'code': code, 'name': name, 'commune_code': commune_code, 'departement': departement_code,
                   'region': region_code, 'tier': tier, 'score': score, 'rank_france': rank_france,
                   'rank_departement': rank_departement, 'reason_summary': reason_summary,
                   'reasons': [{'indicator_id': r.indicator_id, 'tier': r.tier, 'value': r.value, 'vintage': r.vintage,
                                'operator': r.operator, 'threshold': r.threshold, 'passed': r.passed} for r in reasons]
               } order by rank_france, code))
        from programmes.targets
        where eligible
        group by programme
        """
    ).fetchall()
    written = {programme for programme, _, _ in rows}
    for programme, unit, payload in rows:
        write_script(folder, f"programmes/{programme}", f'{{"programme":{json.dumps(programme)},"unit":{json.dumps(unit)},"rows":{payload}}}')
    for (programme, unit) in con.execute("select programme, unit from programmes.rules").fetchall():
        if programme not in written:  # no eligible unit: an empty list, not a missing file
            write_script(folder, f"programmes/{programme}", json.dumps({"programme": programme, "unit": unit, "rows": []}))
    return len(rows)


def write_portraits(con: duckdb.DuckDBPyConnection, folder: Path, levels: list[str]) -> int:
    """portraits/<level>/<bucket>.js; returns the number of files."""
    levels = [lv for lv in levels if lv in PORTRAIT_LEVELS]
    in_levels = ", ".join(f"'{lv}'" for lv in levels)
    con.execute(
        f"""
        create or replace temp table atlas_areas as
        select n.level, n.code, n.name, p.departement, p.region,
               case when n.level = 'commune' then d.value end as density_class,
               case n.level when 'commune' then 'departement' when 'departement' then 'region' else 'france' end as rank_scope,
               case when n.level = 'commune' then (case when n.code like '97%' then left(n.code, 3) else left(n.code, 2) end)
                    else right(n.code, 1) end as bucket
        from ({" union all ".join(f"select '{lv}' as level, code, name from ({area_names_sql(lv)})" for lv in levels)}) as n
        left join atlas_parents as p using (level, code)
        left join (select code, value from indicators.long
                   where indicator_id = 'density_level' and level = 'commune'
                   qualify row_number() over (partition by code order by vintage desc) = 1) as d
               on n.level = 'commune' and d.code = n.code
        where n.code is not null
        """
    )
    con.execute(
        f"""
        create or replace temp table atlas_portrait_values as
        with v as (
            select v.*, a.departement, a.region, a.density_class, a.rank_scope, a.bucket,
                   case a.rank_scope when 'departement' then a.departement when 'region' then a.region else 'FR' end as scope_code,
                   c.formula = 'category' as categorical
            from atlas_values as v join atlas_areas as a using (level, code)
            join indicators.catalogue as c using (indicator_id)
            where v.level in ({in_levels})
        ),
        -- a category (density level, FRR class…) has no rank and no median: its value is a label's rank
        ranked as (
            select v.*,
                   case when v.value is not null and not v.categorical
                        then rank() over (partition by v.indicator_id, v.level, v.vintage, v.scope_code, v.value is null order by v.value desc) end as rank,
                   case when not v.categorical then count(v.value) over (partition by v.indicator_id, v.level, v.vintage, v.scope_code) end as scope_count
            from v
        ),
        medians as (
            select indicator_id, vintage, density_class, median(value) as density_median
            from v where level = 'commune' and density_class is not null and not categorical group by all
        )
        select r.*, dep.value as departement_value, reg.value as region_value, fr.value as france_value,
               case when r.level = 'commune' then m.density_median end as density_median
        from ranked as r
        left join atlas_values as dep on dep.indicator_id = r.indicator_id and dep.vintage = r.vintage and dep.level = 'departement' and dep.code = r.departement
        left join atlas_values as reg on reg.indicator_id = r.indicator_id and reg.vintage = r.vintage and reg.level = 'region' and reg.code = r.region
        left join (select indicator_id, vintage, round(value, {DIGITS}) as value from indicators.long where level = 'france' and category is null) as fr
               on fr.indicator_id = r.indicator_id and fr.vintage = r.vintage
        left join medians as m on m.indicator_id = r.indicator_id and m.vintage = r.vintage and m.density_class = r.density_class
        """
    )
    rows = con.execute(
        f"""
        with value_rows as (
            select level, code,
                   '[' || string_agg(
                       '[' || to_json(indicator_id) || ',' || to_json(vintage) || ',' || {_json_number('value')} || ','
                       || {_json_number('coverage')} || ',' || {_json_number('rank')} || ',' || {_json_number('scope_count')} || ','
                       || {_json_number('departement_value')} || ',' || {_json_number('region_value')} || ','
                       || {_json_number('france_value')} || ',' || {_json_number('round(density_median, 6)')} || ']',
                       ',' order by indicator_id, vintage) || ']' as items
            from atlas_portrait_values group by all
        ),
        programme_rows as (
            -- every programme's units are located in a commune (a QPV, a hospital): shown on that commune
            select 'commune' as level, commune_code as code,
                   '[' || string_agg('[' || to_json(programme) || ',' || {_json_number('tier')} || ',' || {_json_number('rank_france')}
                                     || ',' || {_json_number('score')} || ',' || to_json(reason_summary) || ']',
                                     ',' order by programme, rank_france) || ']' as items
            from programmes.targets
            where eligible and commune_code is not null
            group by all
        ),
        units as (
            select a.level, a.bucket,
                   to_json(a.code) || ':{{"name":' || to_json(a.name) || ',"departement":' || to_json(a.departement)
                   || ',"region":' || to_json(a.region) || ',"density_class":' || {_json_number('a.density_class')}
                   || ',"rank_scope":' || to_json(a.rank_scope) || ',"values":' || coalesce(v.items, '[]')
                   || ',"programmes":' || coalesce(p.items, '[]') || '}}' as item,
                   a.code
            from atlas_areas as a
            left join value_rows as v using (level, code)
            left join programme_rows as p using (level, code)
        )
        select level, bucket,
               '{{"level":' || to_json(level) || ',"bucket":' || to_json(bucket) || ',"units":{{' || string_agg(item, ',' order by code) || '}}}}'
        from units group by level, bucket
        """
    ).fetchall()
    for level, bucket, payload in rows:
        write_script(folder, f"portraits/{level}/{bucket}", payload)
    return len(rows)
