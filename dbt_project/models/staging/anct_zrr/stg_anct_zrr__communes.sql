with source as (
    select * from {{ source('anct_zrr', 'communes') }}
),

classes as (
    select * from {{ ref('rural_zoning_classes') }}
    where zoning = 'zrr'
),

renamed as (
    select
        source._vintage as vintage,
        {{ normalise_commune_code('source.CODGEO') }} as commune_code,
        source.LIBGEO as commune_name,
        source.ZRR_SIMP as zrr_label,
        -- the publisher only gives labels: the seed turns them into codes (C, P, NC)
        classes.code as zrr_code,
        classes.is_classified,
        classes.is_partial,
        classes.benefits,
        source.ZONAGE_ZRR as zrr_detail_label,
        -- the modality's own prefix: C, A, M, D, CM, P, PA, PM or NC
        nullif(trim(split_part(source.ZONAGE_ZRR, ' - ', 1)), '') as zrr_detail_code,
        source._snapshot_sha256 as snapshot_sha256
    from source
    left join classes on classes.label_fr = trim(source.ZRR_SIMP)
)

select * from renamed
