-- Legal population of each loaded vintage on the target geography: the population of
-- every commune goes to the commune its code maps to, and is summed there.
with populations as (
    {{ harmonise_to_target(
        "(select vintage, commune_code, population from " ~ ref('stg_etalab_decoupage__communes')
        ~ " where commune_type = 'commune-actuelle' and population is not null)",
        ['population']
    ) }}
)

select
    vintage,
    commune_code,
    population,
    source_codes as source_commune_count,
    has_split
from populations
