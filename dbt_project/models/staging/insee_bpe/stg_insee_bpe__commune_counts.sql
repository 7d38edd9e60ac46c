with source as (
    select * from {{ source('insee_bpe', 'commune_counts') }}
),

renamed as (
    select
        _vintage as vintage,
        {{ normalise_commune_code('DEPCOM') }} as commune_code,
        -- COM or ARM in the DS_BPE layout (Paris, Lyon and Marseille appear at both levels)
        GEO_OBJECT as geo_level,
        nullif(trim(DCIRIS), '') as iris_code,
        upper(trim(TYPEQU)) as typequ,
        try_cast(try_cast(NB_EQUIP as decimal(18, 3)) as bigint) as equipment_count,
        try_cast(AN as integer) as reference_year,
        _snapshot_sha256 as snapshot_sha256
    from source
)

select * from renamed
