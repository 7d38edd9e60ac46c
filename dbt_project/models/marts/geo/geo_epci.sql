{{ config(alias='epci') }}
with target as (
    select geography_vintage from {{ ref('int_geography_target') }}
),

epci as (
    select e.*
    from {{ ref('stg_etalab_decoupage__epci') }} as e
    join target as t on e.vintage = t.geography_vintage
),

communes as (
    select
        epci_code,
        count(*) as commune_count,
        sum(population) as population,
        {{ sorted_set('departement_code') }} as departement_codes
    from {{ ref('geo_commune') }}
    where epci_code is not null
    group by epci_code
)

select
    e.epci_code,
    e.epci_name,
    e.epci_type,
    e.financing_mode,
    c.commune_count,
    c.population,
    c.departement_codes,
    e.vintage as geography_vintage
from epci as e
left join communes as c using (epci_code)
