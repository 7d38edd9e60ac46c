with source as (
    select * from {{ source('etalab_decoupage', 'communes') }}
),

renamed as (
    select
        _vintage as vintage,
        {{ normalise_commune_code('code') }} as commune_code,
        nom as commune_name,
        type as commune_type,
        zone,
        departement as departement_code,
        region as region_code,
        arrondissement as arrondissement_code,
        try_cast(population as bigint) as population,
        -- census year of the population (catalogue's population_year of the vintage)
        try_cast(population_year as integer) as population_year,
        siren,
        -- commune déléguée / associée → the commune it belongs to
        {{ normalise_commune_code('chefLieu') }} as parent_commune_code,
        -- arrondissement municipal → Paris, Lyon or Marseille
        {{ normalise_commune_code('commune') }} as plm_commune_code,
        coalesce(anciensCodes, []::varchar[]) as former_codes,
        _snapshot_sha256 as snapshot_sha256
    from source
)

select * from renamed
