with source as (
    select * from {{ source('insee_bpe', 'equipments') }}
),

renamed as (
    select
        _vintage as vintage,
        -- arrondissement codes for Paris, Lyon and Marseille, as in the file
        {{ normalise_commune_code('DEPCOM') }} as commune_code,
        nullif(trim(DCIRIS), '') as iris_code,
        upper(trim(TYPEQU)) as typequ,
        try_cast(LAMBERT_X as double) as x,
        try_cast(LAMBERT_Y as double) as y,
        -- the file's EPSG (BPE 2023 on), else the projection INSEE documents per département
        -- (same table as EPSG_BY_DEPARTEMENT in pipelines/sources/readers/insee_bpe.py)
        case
            when try_cast(LAMBERT_X as double) is null or try_cast(LAMBERT_Y as double) is null then null
            else coalesce(
                try_cast(nullif({{ regex_extract('EPSG', "'[0-9]+'") }}, '') as integer),
                case left(trim(DEPCOM), 3)
                    when '971' then 5490
                    when '972' then 5490
                    when '973' then 2972
                    when '974' then 2975
                    when '976' then 4471
                    else 2154
                end
            )
        end as epsg,
        try_cast(LONGITUDE as double) as longitude,
        try_cast(LATITUDE as double) as latitude,
        nullif(trim(QUALITE_XY), '') as quality,
        try_cast(AN as integer) as reference_year,
        _snapshot_sha256 as snapshot_sha256
    from source
)

select * from renamed
