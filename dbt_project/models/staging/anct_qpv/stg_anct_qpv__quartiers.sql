with source as (
    select * from {{ source('anct_qpv', 'quartiers') }}
),

renamed as (
    select
        _vintage as vintage,
        code_qp as qpv_code,
        lib_qp as qpv_name,
        -- population municipale of the QPV (INSEE); not in the 2024 ANCT contours
        try_cast(pop_mun as double) as population,
        insee_dep as departement_code,
        -- as published: every commune of a QPV spanning several ("Talost, Lisay-sur-Grieux")
        lib_com as commune_names,
        insee_com as commune_codes_published,
        _snapshot_sha256 as snapshot_sha256
    from source
)

select * from renamed
