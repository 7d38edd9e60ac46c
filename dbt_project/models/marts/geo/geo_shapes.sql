{{ config(alias='shapes') }}
-- The polygons of every area of every level of the target geography, simplified for display,
-- in WGS84. Communes: their contours (int_commune_contours) cleaned into a coverage (edges
-- that should meet are snapped together) and simplified as one coverage, so neighbours keep
-- a common edge; the other levels are unions of those communes (coverage unions: the cleaned,
-- simplified communes meet exactly, so their common edges are dropped without overlay).
-- `territory` says where an area is drawn: 'metro' or the DROM's département code (the atlas
-- puts the DROM in insets).
{% set tolerance = var('shape_tolerance_degrees') %}
with communes as (
    select g.*, c.contour, c.contour_source, c.contour_vintage
    from {{ ref('geo_commune') }} as g
    join {{ ref('int_commune_contours') }} as c using (commune_code)
    where g.zone in ('metro', 'drom')
),

simplified as (
    {{ simplified_coverage('communes', 'commune_code', 'contour', tolerance) }}
),

located as (
    select c.*, s.geometry, case when c.zone = 'drom' then c.departement_code else 'metro' end as territory
    from communes as c
    join simplified as s using (commune_code)
),

levels as (
    {% for level, key in rollup_level_keys() if level != 'france' %}
    {% if not loop.first %}union all{% endif %}
    select
        '{{ level }}' as level,
        {{ key }} as code,
        {% if level == 'commune' %}any_value(geometry){% else %}{{ geo_coverage_union_agg('geometry') }}{% endif %} as geometry,
        any_value(territory) as territory,
        count(*) as commune_count,
        any_value(contour_source) as contour_source,
        any_value(contour_vintage) as contour_vintage,
        any_value(geography_vintage) as geography_vintage
    from located
    where {{ key }} is not null
    group by {{ key }}
    {% endfor %}
)

select level, code, geography_vintage, territory, commune_count, contour_source, contour_vintage, geometry
from levels
