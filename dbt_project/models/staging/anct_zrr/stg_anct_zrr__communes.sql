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
        -- the publisher only gives labels, worded differently per sheet ("NC - Commune non
        -- classée", "NC - Non classée"): their prefix is the seed's code (C, P, NC)
        classes.code as zrr_code,
        classes.is_classified,
        classes.is_partial,
        classes.benefits,
        source.ZONAGE_ZRR as zrr_detail_label,
        -- the modality's own prefix: C, A, M, D, CM, P, PA, PM or NC
        nullif(trim(split_part(source.ZONAGE_ZRR, ' - ', 1)), '') as zrr_detail_code,
        source._snapshot_sha256 as snapshot_sha256
    from source
    left join classes on classes.code = trim(split_part(source.ZRR_SIMP, ' - ', 1))
)

select * from renamed
