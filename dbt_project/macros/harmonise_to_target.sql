{# Bring commune-level rows of any vintage onto the target geography.

   relation: has vintage, commune_code and the columns to carry.
   sums: columns summed per target commune (counts, populations, weighted numerators).
   Codes go through geo.commune_passage: merged communes add up into their commune
   nouvelle; arrondissements municipaux add up into Paris, Lyon or Marseille, unless the
   same vintage also lists the whole city (then the city's own row is kept, never both).
   A sum is unknown (null) when one of the codes it adds up has no value: a partial sum
   would pass for the whole commune. has_split marks rows fed by a code whose territory is
   now split across several communes (a restored commune): in a vintage that does not list
   the restored commune, the code's sums are apportioned between its pieces by population
   (int_commune_split_shares) and each piece is flagged. source_codes counts the codes
   summed. Codes unknown to the passage are
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

    -- (the link type is tested after the join, not in it: a constant in a left join's
    -- condition turns DuckDB's hash join into a nested loop, quadratic at national size)
    kept as (
        select m.*
        from mapped as m
        left join cities_listed_whole as w
          on w.vintage = m.vintage
         and w.target_code = m.target_code
        where w.target_code is null
           or m.link_type is distinct from 'arrondissement_municipal'
    ),

    -- A split code's row stands for all its pieces in a vintage that lists none of the
    -- restored communes: its counts are apportioned between them by population.
    vintage_codes as (
        select distinct vintage, commune_code from source_rows
    ),

    apportioned as (
        select m.vintage, m.commune_code as old_code, s.piece_code, s.share
        from (select distinct vintage, commune_code from kept where is_split) as m
        join {{ ref('int_commune_split_shares') }} as s on s.old_code = m.commune_code
        where not exists (
            select 1
            from {{ ref('int_commune_split_shares') }} as other
            join vintage_codes as v on v.commune_code = other.piece_code
            where other.old_code = m.commune_code
              and other.piece_code <> other.old_code
              and v.vintage = m.vintage
        )
    ),

    spread as (
        select
            k.*,
            coalesce(a.piece_code, k.target_code) as piece_code,
            coalesce(a.share, 1.0) as split_share
        from kept as k
        left join apportioned as a on a.vintage = k.vintage and a.old_code = k.commune_code
    )

    select
        vintage,
        {% for column in extra_group_by %}{{ column }},{% endfor %}
        piece_code as commune_code,
        {% for column in sums %}case when count({{ column }}) = count(*) then sum({{ column }} * split_share) end as {{ column }},{% endfor %}
        bool_or(is_split) as has_split,
        count(*) as source_codes
    from spread
    group by all
{% endmacro %}
