with source as (
    select * from {{ source('insee_population', 'communes') }}
),

renamed as (
    select
        _vintage as vintage,
        -- CODGEO is added by the reader: COM, or the département code + CODCOM in older files
        {{ normalise_commune_code('CODGEO') }} as commune_code,
        -- DEP in current files, CODDEP in older ones
        coalesce(DEP, CODDEP) as departement_code,
        try_cast(PMUN as bigint) as population_municipale,
        try_cast(PCAP as bigint) as population_comptee_a_part,
        try_cast(PTOT as bigint) as population_totale,
        _snapshot_sha256 as snapshot_sha256
    from source
)

select * from renamed
