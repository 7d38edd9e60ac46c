{{ config(alias='commune') }}
-- The communes of the target geography, with their EPCI, département, région, legal
-- population (of the census year population_year) and their zone at each of INSEE's levels
-- (int_commune_levels: null when the table d'appartenance was never loaded).
with target as (
    select geography_vintage from {{ ref('int_geography_target') }}
),

communes as (
    select c.*
    from {{ ref('stg_etalab_decoupage__communes') }} as c
    join target as t on c.vintage = t.geography_vintage
    where c.commune_type = 'commune-actuelle'
),

members as (
    select m.commune_code, m.epci_code
    from {{ ref('stg_etalab_decoupage__epci_members') }} as m
    join target as t on m.vintage = t.geography_vintage
),

levels as (
    select
        commune_code,
        any_value(code) filter (where level = 'arrondissement') as arrondissement_code,
        any_value(code) filter (where level = 'canton') as canton_code,
        any_value(code) filter (where level = 'zone_emploi') as zone_emploi_code,
        any_value(code) filter (where level = 'unite_urbaine') as unite_urbaine_code,
        any_value(code) filter (where level = 'aire_attraction') as aire_attraction_code,
        any_value(category) filter (where level = 'aire_attraction') as aire_attraction_category,
        any_value(code) filter (where level = 'bassin_vie') as bassin_vie_code
    from {{ ref('int_commune_levels') }}
    group by commune_code
)

select
    c.commune_code,
    c.commune_name,
    c.departement_code,
    c.region_code,
    m.epci_code,
    c.zone,
    c.population,
    c.population_year,
    c.siren,
    c.vintage as geography_vintage,
    c.snapshot_sha256,
    l.arrondissement_code,
    l.canton_code,
    l.zone_emploi_code,
    l.unite_urbaine_code,
    l.aire_attraction_code,
    l.aire_attraction_category,
    l.bassin_vie_code
from communes as c
left join members as m using (commune_code)
left join levels as l using (commune_code)
