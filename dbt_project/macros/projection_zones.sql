{# The metric projections distances are measured in: Lambert-93 for metropolitan France
   (Corsica included) and the legal system of each overseas département. A point belongs
   to the zone whose box holds its WGS84 coordinates. #}
{% macro projection_zones() %}
    {{ return([
        {'zone': 'metro', 'epsg': 2154, 'lon': (-5.8, 10.0), 'lat': (41.0, 51.6)},
        {'zone': 'antilles', 'epsg': 5490, 'lon': (-63.3, -60.7), 'lat': (14.3, 18.2)},
        {'zone': 'guyane', 'epsg': 2972, 'lon': (-54.7, -51.5), 'lat': (2.0, 6.0)},
        {'zone': 'reunion', 'epsg': 2975, 'lon': (55.1, 56.0), 'lat': (-21.5, -20.8)},
        {'zone': 'mayotte', 'epsg': 4471, 'lon': (44.9, 45.4), 'lat': (-13.1, -12.5)},
    ]) }}
{% endmacro %}

{# Every row of `relation` whose WGS84 point falls in a zone, with zone, x and y (metres)
   in that zone's projection. Rows outside every zone are left out. #}
{% macro project_to_zones(relation, longitude='longitude', latitude='latitude') %}
    {% for z in projection_zones() %}
    select
        r.*,
        '{{ z.zone }}' as zone,
        {{ projected_x(longitude, latitude, z.epsg) }} as x,
        {{ projected_y(longitude, latitude, z.epsg) }} as y
    from {{ relation }} as r
    where {{ longitude }} between {{ z.lon[0] }} and {{ z.lon[1] }}
      and {{ latitude }} between {{ z.lat[0] }} and {{ z.lat[1] }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
{% endmacro %}

{# The zone of points already projected in a zone's system (BPE, SIRENE x/y with their EPSG). #}
{% macro zone_of_epsg(epsg) %}
    case {{ epsg }}
        {% for z in projection_zones() %}when {{ z.epsg }} then '{{ z.zone }}' {% endfor %}
    end
{% endmacro %}
