with source as (
    select * from {{ source('insee_density_grid', 'communes') }}
),

layouts as (
    -- A file with DENS7 has the revised layout, where DENS is only the 3-level grid:
    -- the layout is decided per vintage, never row by row.
    select
        *,
        bool_or(DENS7 is not null) over (partition by _vintage) as has_dens7
    from source
),

renamed as (
    select
        _vintage as vintage,
        {{ normalise_commune_code('CODGEO') }} as commune_code,
        LIBGEO as commune_name,
        try_cast(case when has_dens7 then DENS7 else DENS end as integer) as density_level,
        case when has_dens7 then LIBDENS7 else LIBDENS end as density_label,
        -- the 3-level grid (1 urbain dense, 2 urbain intermédiaire, 3 rural), in revised files only
        case when has_dens7 then try_cast(DENS as integer) end as density_level_3,
        case when has_dens7 then LIBDENS end as density_label_3,
        -- INSEE's rural communes (2020 definition): bourgs ruraux and rural dispersé, levels 5 to 7
        density_level between 5 and 7 as is_rural,
        _snapshot_sha256 as snapshot_sha256
    from layouts
)

select * from renamed
