with source as (
    select * from {{ source('insee_census_age', 'communes') }}
),

renamed as (
    select
        _vintage as vintage,
        try_cast(CENSUS_YEAR as integer) as census_year,
        {{ normalise_commune_code('CODGEO') }} as commune_code,
        try_cast(POP as double) as population,
        try_cast(POP0014 as double) as pop_0_14,
        try_cast(POP1529 as double) as pop_15_29,
        try_cast(POP3044 as double) as pop_30_44,
        try_cast(POP4559 as double) as pop_45_59,
        try_cast(POP6074 as double) as pop_60_74,
        try_cast(POP7589 as double) as pop_75_89,
        try_cast(POP90P as double) as pop_90_plus,
        -- the census has no 75+ column: 75–89 plus 90 and over
        try_cast(POP7589 as double) + try_cast(POP90P as double) as pop_75_plus,
        _snapshot_sha256 as snapshot_sha256
    from source
)

select * from renamed
