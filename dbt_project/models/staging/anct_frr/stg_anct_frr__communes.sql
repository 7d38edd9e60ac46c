with source as (
    select * from {{ source('anct_frr', 'communes') }}
),

classes as (
    select * from {{ ref('rural_zoning_classes') }}
    where zoning = 'frr'
),

renamed as (
    select
        source._vintage as vintage,
        {{ normalise_commune_code('source.Code_insee') }} as commune_code,
        source.Commune as commune_name,
        source.Departement as departement_code,
        source."Classement FRR et FRR+" as frr_label,
        -- the publisher only gives labels: the seed turns them into codes
        classes.code as frr_code,
        classes.is_classified,
        classes.is_partial,
        classes.benefits,
        try_cast(source."Date du classement" as date) as classification_date,
        source._snapshot_sha256 as snapshot_sha256
    from source
    left join classes on classes.label_fr = trim(source."Classement FRR et FRR+")
)

select * from renamed
