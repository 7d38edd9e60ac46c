{{ config(alias='commune') }}
-- The communes of the target geography, with their EPCI, département, région and legal
-- population (of the census year population_year).
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
    c.snapshot_sha256
from communes as c
left join members as m using (commune_code)
