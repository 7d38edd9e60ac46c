{# geo.<level> for one of INSEE's levels (geo_arrondissement … geo_bassin_vie): each zone the
   communes of the target geography are in, its label, population and commune count summed
   from geo.commune (metropolitan France and the DROM), and the vintage of the table
   d'appartenance the zoning was read from. A zone without a label in INSEE's files gets
   a descriptive one for the catch-all codes (000 of the aires, <dép>000 of the unités
   urbaines), else none. #}
{% macro geo_level(level) %}
with communes as (
    select {{ level }}_code as code, commune_code, departement_code, population, geography_vintage
    from {{ ref('geo_commune') }}
    where {{ level }}_code is not null and zone in ('metro', 'drom')
),

zoning as (
    select max(zoning_vintage) as zoning_vintage
    from {{ ref('int_commune_levels') }}
    where level = '{{ level }}'
),

labels as (
    -- the label of the zoning's own vintage, else the newest
    select z.code, z.label
    from {{ ref('stg_insee_appartenance__zones') }} as z
    cross join zoning
    where z.level = '{{ level }}' and z.label is not null
    qualify row_number() over (partition by z.code order by (z.vintage = zoning.zoning_vintage) desc, z.vintage desc) = 1
),

zones as (
    select
        code,
        count(*) as commune_count,
        sum(population) as population,
        {{ sorted_set('departement_code') }} as departement_codes,
        any_value(geography_vintage) as geography_vintage
    from communes
    group by code
)

select
    zones.code,
    coalesce(
        labels.label,
        {% if level == 'aire_attraction' %}case when zones.code = '000' then 'Communes hors attraction des villes' end{% elif level == 'unite_urbaine' %}case when zones.code like '%000' then 'Communes rurales hors unité urbaine (' || left(zones.code, length(zones.code) - 3) || ')' end{% else %}null{% endif %}
    ) as label,
    zones.population,
    zones.commune_count,
    zones.departement_codes,
    zones.geography_vintage,
    zoning.zoning_vintage
from zones
left join labels using (code)
cross join zoning
{% endmacro %}
