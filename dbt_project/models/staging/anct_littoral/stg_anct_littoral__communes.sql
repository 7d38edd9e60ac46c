with source as (
    select * from {{ source('anct_littoral', 'communes') }}
),

labelled as (
    select
        *,
        lower(trim(CLASSEMENT)) as label
    from source
),

renamed as (
    select
        _vintage as vintage,
        {{ normalise_commune_code('INSEE_COM') }} as commune_code,
        NOM_COM as commune_name,
        trim(CLASSEMENT) as classification_label,
        case label
            when 'mer' then 'sea'
            when 'estuaire' then 'estuary'
            when 'lac' then 'lake'
        end as classification,
        -- the law covers every commune of its list: the sea, an estuary, a lake of more than 1,000 ha
        case when label in ('mer', 'estuaire', 'lac') then true end as is_coastal,
        case when label in ('mer', 'estuaire') then true when label = 'lac' then false end as is_seaside,
        _snapshot_sha256 as snapshot_sha256
    from labelled
)

select * from renamed
