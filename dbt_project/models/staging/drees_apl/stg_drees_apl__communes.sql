with source as (
    select * from {{ source('drees_apl', 'communes') }}
),

renamed as (
    select
        _vintage as vintage,
        -- Paris, Lyon and Marseille stay by arrondissement municipal (751xx, 6938x, 132xx)
        {{ normalise_commune_code('"Code commune INSEE"') }} as commune_code,
        "Commune" as commune_name,
        try_cast("APL aux médecins généralistes" as double) as apl_gp,
        try_cast("APL aux médecins généralistes de moins de 65 ans" as double) as apl_gp_under_65,
        -- from the 2024 edition on: GPs of 62 or less, of 60 or less
        try_cast("APL aux médecins généralistes de 62 ans ou moins" as double) as apl_gp_under_62,
        try_cast("APL aux médecins généralistes de 60 ans ou moins" as double) as apl_gp_under_60,
        -- the weight for averaging APL over several communes
        try_cast(POPULATION_STANDARDISEE as double) as standardised_population,
        -- the population to count under a threshold
        try_cast(POPULATION_TOTALE as double) as total_population,
        try_cast(POPULATION_YEAR as integer) as population_year,
        _snapshot_sha256 as snapshot_sha256
    from source
)

select * from renamed
