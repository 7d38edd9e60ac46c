{# Bring commune-level rows of any vintage onto the target geography.

   relation: has vintage, commune_code and the columns to carry.
   sums: columns summed per target commune (counts, populations, weighted numerators).
   Codes go through geo.commune_passage: merged communes add up into their commune
   nouvelle; arrondissements municipaux add up into Paris, Lyon or Marseille, unless the
   same vintage also lists the whole city (then the city's own row is kept, never both).
   A sum is unknown (null) when one of the codes it adds up has no value: a partial sum would
   pass for the whole commune. has_split marks rows fed by a code whose territory is now split across several
   communes; source_codes counts the codes summed. Codes unknown to the passage are
   dropped here and reported by the `maps_to_target_geography` test. #}
{% macro harmonise_to_target(relation, sums, extra_group_by=[]) %}
    with source_rows as (
        select * from {{ relation }}
    ),

    mapped as (
        select
            s.*,
            passage.commune_code as target_code,
            passage.link_type,
            passage.is_split
        from source_rows as s
        join {{ ref('geo_commune_passage') }} as passage on passage.old_code = s.commune_code
    ),

    cities_listed_whole as (
        select distinct vintage, target_code
        from mapped
        where link_type = 'same_code'
    ),

    kept as (
        select m.*
        from mapped as m
        left join cities_listed_whole as w
          on m.link_type = 'arrondissement_municipal'
         and w.vintage = m.vintage
         and w.target_code = m.target_code
        where w.target_code is null
    )

    select
        vintage,
        {% for column in extra_group_by %}{{ column }},{% endfor %}
        target_code as commune_code,
        {% for column in sums %}case when count({{ column }}) = count(*) then sum({{ column }}) end as {{ column }},{% endfor %}
        bool_or(is_split) as has_split,
        count(*) as source_codes
    from kept
    group by all
{% endmacro %}
