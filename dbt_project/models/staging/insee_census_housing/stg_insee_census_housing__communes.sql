with source as (
    select * from {{ source('insee_census_housing', 'communes') }}
),

renamed as (
    select
        _vintage as vintage,
        try_cast(CENSUS_YEAR as integer) as census_year,
        {{ normalise_commune_code('CODGEO') }} as commune_code,
        -- a household occupies one main residence: RP stands for MEN when the file lacks it
        coalesce(try_cast(MEN as double), try_cast(RP as double)) as households,
        try_cast(RP_VOIT1P as double) as households_with_car,
        try_cast(RP as double) as main_residences,
        _snapshot_sha256 as snapshot_sha256
    from source
)

select * from renamed
