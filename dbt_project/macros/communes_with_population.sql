{# Every commune of metropolitan France and the DROM for each vintage of `vintages` (a
   relation with a vintage column), with the legal population to divide by for that
   vintage: the frame that count indicators fill, so a commune without any is 0. #}
{% macro communes_with_population(vintages) %}
    select
        v.vintage,
        p.commune_code,
        p.population::double as population,
        p.population_vintage
    from {{ vintages }} as v
    join {{ ref('int_population_for_year') }} as p on p.data_year = v.vintage[1:4]::integer
    join {{ ref('geo_commune') }} as g on g.commune_code = p.commune_code and g.zone in ('metro', 'drom')
{% endmacro %}
