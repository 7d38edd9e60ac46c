-- Legal population of each loaded vintage on the target geography: the population of
-- every commune (or arrondissement, for vintages that list only those) goes to the
-- commune its code maps to, and is summed there.
with populations as (
    select vintage, commune_code, population
    from {{ ref('stg_etalab_decoupage__communes') }}
    where commune_type = 'commune-actuelle' and population is not null
),

mapped as (
    select
        p.vintage,
        passage.commune_code,
        p.population,
        passage.is_split
    from populations as p
    join {{ ref('geo_commune_passage') }} as passage on passage.old_code = p.commune_code
)

select
    vintage,
    commune_code,
    sum(population) as population,
    count(*) as source_commune_count,
    bool_or(is_split) as has_split
from mapped
group by vintage, commune_code
