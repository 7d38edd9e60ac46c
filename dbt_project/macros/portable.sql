{#
  The SQL only DuckDB speaks, in one place.

  Models and the other macros call these instead of DuckDB's own functions, so that the
  project can move to another engine by adding that engine's implementation here (dbt's
  adapter.dispatch picks `<adapter>__<macro>`, else `default__<macro>`). The defaults are
  DuckDB's (dbt-duckdb, and MotherDuck, which runs them unchanged). The `spark__` versions
  (dbt-spark, dbt-databricks) are written from Spark SQL's documentation and have not been
  run here; an engine without one of these fails at compile time, naming the macro.

  Spatial functions (DuckDB's spatial extension) are in projection_zones.sql and below.
  tests/test_portable_sql.py checks that no model uses the DuckDB-only functions directly.
#}

{# The `value` of the row with the smallest (largest) `key` in a group. #}
{% macro min_by(value, key) %}{{ return(adapter.dispatch('min_by')(value, key)) }}{% endmacro %}
{% macro default__min_by(value, key) %}arg_min({{ value }}, {{ key }}){% endmacro %}
{% macro spark__min_by(value, key) %}min_by({{ value }}, {{ key }}){% endmacro %}

{% macro max_by(value, key) %}{{ return(adapter.dispatch('max_by')(value, key)) }}{% endmacro %}
{% macro default__max_by(value, key) %}arg_max({{ value }}, {{ key }}){% endmacro %}
{% macro spark__max_by(value, key) %}max_by({{ value }}, {{ key }}){% endmacro %}

{# A key made of several columns, compared column by column (for min_by / max_by). #}
{% macro row_key(columns) %}{{ return(adapter.dispatch('row_key')(columns)) }}{% endmacro %}
{% macro default__row_key(columns) %}({{ columns | join(', ') }}){% endmacro %}
{% macro spark__row_key(columns) %}struct({{ columns | join(', ') }}){% endmacro %}

{# Whether `expression` contains a match of the regular expression `pattern` (anchor it with ^ $ for a whole match). #}
{% macro regex_matches(expression, pattern) %}{{ return(adapter.dispatch('regex_matches')(expression, pattern)) }}{% endmacro %}
{% macro default__regex_matches(expression, pattern) %}regexp_matches({{ expression }}, {{ pattern }}){% endmacro %}
{% macro spark__regex_matches(expression, pattern) %}({{ expression }} rlike {{ pattern }}){% endmacro %}

{# The first match of `pattern` in `expression` ('' when none). #}
{% macro regex_extract(expression, pattern) %}{{ return(adapter.dispatch('regex_extract')(expression, pattern)) }}{% endmacro %}
{% macro default__regex_extract(expression, pattern) %}regexp_extract({{ expression }}, {{ pattern }}){% endmacro %}
{% macro spark__regex_extract(expression, pattern) %}regexp_extract({{ expression }}, {{ pattern }}, 0){% endmacro %}

{# Aggregate: the distinct values of `expression` in a group, as a sorted list. #}
{% macro sorted_set(expression) %}{{ return(adapter.dispatch('sorted_set')(expression)) }}{% endmacro %}
{% macro default__sorted_set(expression) %}list(distinct {{ expression }} order by {{ expression }}){% endmacro %}
{% macro spark__sorted_set(expression) %}array_sort(collect_set({{ expression }})){% endmacro %}

{# Aggregate: `expression` for each row of a group, as a list in `order_by` order. #}
{% macro ordered_list(expression, order_by) %}{{ return(adapter.dispatch('ordered_list')(expression, order_by)) }}{% endmacro %}
{% macro default__ordered_list(expression, order_by) %}list({{ expression }} order by {{ order_by }}){% endmacro %}
{% macro spark__ordered_list(expression, order_by) %}transform(array_sort(collect_list(struct({{ order_by }} as k, {{ expression }} as v))), e -> e.v){% endmacro %}

{# Aggregate: the texts `expression` of a group joined by `separator`, in `order_by` order. #}
{% macro ordered_text(expression, separator, order_by) %}{{ return(adapter.dispatch('ordered_text')(expression, separator, order_by)) }}{% endmacro %}
{% macro default__ordered_text(expression, separator, order_by) %}string_agg({{ expression }}, {{ separator }} order by {{ order_by }}){% endmacro %}
{% macro spark__ordered_text(expression, separator, order_by) %}array_join({{ spark__ordered_list(expression, order_by) }}, {{ separator }}){% endmacro %}

{# Whether the list `items` holds `value`. #}
{% macro list_has(items, value) %}{{ return(adapter.dispatch('list_has')(items, value)) }}{% endmacro %}
{% macro default__list_has(items, value) %}list_contains({{ items }}, {{ value }}){% endmacro %}
{% macro spark__list_has(items, value) %}array_contains({{ items }}, {{ value }}){% endmacro %}

{# The number of items of a list. #}
{% macro list_size(items) %}{{ return(adapter.dispatch('list_size')(items)) }}{% endmacro %}
{% macro default__list_size(items) %}len({{ items }}){% endmacro %}
{% macro spark__list_size(items) %}size({{ items }}){% endmacro %}

{# The sum of a list of numbers. #}
{% macro list_total(items) %}{{ return(adapter.dispatch('list_total')(items)) }}{% endmacro %}
{% macro default__list_total(items) %}list_sum({{ items }}){% endmacro %}
{% macro spark__list_total(items) %}aggregate({{ items }}, 0D, (acc, x) -> acc + x){% endmacro %}

{# The distinct items of two lists (either may be null), sorted. #}
{% macro list_union_sorted(first, second) %}{{ return(adapter.dispatch('list_union_sorted')(first, second)) }}{% endmacro %}
{% macro default__list_union_sorted(first, second) %}list_sort(list_distinct(list_concat(coalesce({{ first }}, []), coalesce({{ second }}, [])))){% endmacro %}
{% macro spark__list_union_sorted(first, second) %}array_sort(array_union(coalesce({{ first }}, array()), coalesce({{ second }}, array()))){% endmacro %}

{# A record of named fields: {{ record({'name': 'expression', …}) }}. #}
{% macro record(fields) %}{{ return(adapter.dispatch('record')(fields)) }}{% endmacro %}
{% macro default__record(fields) %}{ {%- for name, expression in fields.items() %}'{{ name }}': {{ expression }}{% if not loop.last %}, {% endif %}{% endfor -%} }{% endmacro %}
{% macro spark__record(fields) %}named_struct({%- for name, expression in fields.items() %}'{{ name }}', {{ expression }}{% if not loop.last %}, {% endif %}{% endfor -%}){% endmacro %}

{# One row per item of the list `items` (in a select list). #}
{% macro unnest_list(items) %}{{ return(adapter.dispatch('unnest_list')(items)) }}{% endmacro %}
{% macro default__unnest_list(items) %}unnest({{ items }}){% endmacro %}
{% macro spark__unnest_list(items) %}explode({{ items }}){% endmacro %}

{# The union of relations (CTE names), matching columns by name; a column some lack is null there. #}
{% macro union_by_name(relations) %}{{ return(adapter.dispatch('union_by_name')(relations)) }}{% endmacro %}
{% macro default__union_by_name(relations) %}
    {% for relation in relations %}
    select * from {{ relation }}
    {% if not loop.last %}union all by name{% endif %}
    {% endfor %}
{% endmacro %}
{% macro spark__union_by_name(relations) %}
    {# Spark SQL: the relations must list the same columns in the same order. #}
    {% for relation in relations %}
    select * from {{ relation }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
{% endmacro %}

{# The date `years` years before `date_expression`. #}
{% macro years_before(date_expression, years) %}{{ return(adapter.dispatch('years_before')(date_expression, years)) }}{% endmacro %}
{% macro default__years_before(date_expression, years) %}cast({{ date_expression }} - interval {{ years }} year as date){% endmacro %}
{% macro spark__years_before(date_expression, years) %}add_months({{ date_expression }}, -12 * {{ years }}){% endmacro %}

{# Spatial: a point, a geometry from hexadecimal EWKB, and containment (DuckDB's spatial extension). #}
{% macro geo_point(longitude, latitude) %}{{ return(adapter.dispatch('geo_point')(longitude, latitude)) }}{% endmacro %}
{% macro default__geo_point(longitude, latitude) %}st_point({{ longitude }}, {{ latitude }}){% endmacro %}

{% macro geo_from_hex_ewkb(expression) %}{{ return(adapter.dispatch('geo_from_hex_ewkb')(expression)) }}{% endmacro %}
{% macro default__geo_from_hex_ewkb(expression) %}st_geomfromhexewkb({{ expression }}){% endmacro %}

{% macro geo_contains(container, contained) %}{{ return(adapter.dispatch('geo_contains')(container, contained)) }}{% endmacro %}
{% macro default__geo_contains(container, contained) %}st_contains({{ container }}, {{ contained }}){% endmacro %}

{# x and y (metres) of a WGS84 point in the projection `epsg` (an integer). #}
{% macro projected_x(longitude, latitude, epsg) %}{{ return(adapter.dispatch('projected_x')(longitude, latitude, epsg)) }}{% endmacro %}
{% macro default__projected_x(longitude, latitude, epsg) %}st_x(st_transform(st_point({{ longitude }}, {{ latitude }}), 'EPSG:4326', 'EPSG:{{ epsg }}', always_xy := true)){% endmacro %}

{% macro projected_y(longitude, latitude, epsg) %}{{ return(adapter.dispatch('projected_y')(longitude, latitude, epsg)) }}{% endmacro %}
{% macro default__projected_y(longitude, latitude, epsg) %}st_y(st_transform(st_point({{ longitude }}, {{ latitude }}), 'EPSG:4326', 'EPSG:{{ epsg }}', always_xy := true)){% endmacro %}

{# WGS84 longitude and latitude of a point x, y (metres) projected in `epsg` (an integer expression, one per row). #}
{% macro longitude_from_projected(x, y, epsg) %}{{ return(adapter.dispatch('longitude_from_projected')(x, y, epsg)) }}{% endmacro %}
{% macro default__longitude_from_projected(x, y, epsg) %}st_x(st_transform(st_point({{ x }}, {{ y }}), 'EPSG:' || cast({{ epsg }} as varchar), 'EPSG:4326', always_xy := true)){% endmacro %}

{% macro latitude_from_projected(x, y, epsg) %}{{ return(adapter.dispatch('latitude_from_projected')(x, y, epsg)) }}{% endmacro %}
{% macro default__latitude_from_projected(x, y, epsg) %}st_y(st_transform(st_point({{ x }}, {{ y }}), 'EPSG:' || cast({{ epsg }} as varchar), 'EPSG:4326', always_xy := true)){% endmacro %}

{# Polygons: from hexadecimal WKB, the union of a group, and the union of a group that is a
   coverage (polygons meeting edge to edge, without overlap: much faster). #}
{% macro geo_from_hex_wkb(expression) %}{{ return(adapter.dispatch('geo_from_hex_wkb')(expression)) }}{% endmacro %}
{% macro default__geo_from_hex_wkb(expression) %}st_geomfromhexwkb({{ expression }}){% endmacro %}

{% macro geo_union_agg(expression) %}{{ return(adapter.dispatch('geo_union_agg')(expression)) }}{% endmacro %}
{% macro default__geo_union_agg(expression) %}st_union_agg({{ expression }}){% endmacro %}

{% macro geo_coverage_union_agg(expression) %}{{ return(adapter.dispatch('geo_coverage_union_agg')(expression)) }}{% endmacro %}
{% macro default__geo_coverage_union_agg(expression) %}st_coverageunion_agg({{ expression }}){% endmacro %}

{# (key, geometry) of every row of `relation` once its polygons (`geometry`, keyed by `key`)
   are cleaned into a coverage (edges that should meet snapped together) and simplified as
   one coverage (Douglas-Peucker at `tolerance`, boundary included), so neighbours keep a
   common edge; rows whose polygon vanishes are left out. DuckDB: GEOS's coverage functions
   keep the order of their list, and ST_Dump splits each multipolygon into its parts (path
   [i, j]), put back together by i. The dump is unnested in the select list: unnested beside
   the whole collection, DuckDB would copy the collection for each part. #}
{% macro simplified_coverage(relation, key, geometry, tolerance) %}{{ return(adapter.dispatch('simplified_coverage')(relation, key, geometry, tolerance)) }}{% endmacro %}
{% macro default__simplified_coverage(relation, key, geometry, tolerance) %}
with coverage_ordered as (
    select {{ key }} as coverage_key, {{ geometry }} as coverage_geometry, row_number() over (order by {{ key }}) as i
    from {{ relation }}
),

coverage_cleaned_parts as (
    select part.path[1] as i, part.geom
    from (select unnest(st_dump(st_coverageclean(list(coverage_geometry order by i)))) as part from coverage_ordered)
),

coverage_cleaned as (
    select o.i, coalesce(st_collect(list(c.geom) filter (where c.geom is not null)), st_geomfromtext('POLYGON EMPTY')) as geom
    from coverage_ordered as o left join coverage_cleaned_parts as c using (i)
    group by o.i
),

coverage_simplified_parts as (
    select part.path[1] as i, part.geom
    from (select unnest(st_dump(st_coveragesimplify(list(geom order by i), {{ tolerance }}, true))) as part from coverage_cleaned)
    where not st_isempty(part.geom)
)

select o.coverage_key as {{ key }}, st_collect(list(p.geom)) as geometry
from coverage_simplified_parts as p join coverage_ordered as o using (i)
group by o.coverage_key
{% endmacro %}
