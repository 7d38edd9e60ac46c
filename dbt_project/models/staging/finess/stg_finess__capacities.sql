with source as (
    select * from {{ source('finess', 'capacities') }}
),

renamed as (
    select
        _vintage as vintage,
        nofinesset as finess_code,
        de as discipline_code,
        libde as discipline_label,
        ta as activity_code,
        libta as activity_label,
        client as clientele_code,
        libclient as clientele_label,
        sourceinfo as information_source,
        try_cast(try_cast(capinstot as decimal(18, 3)) as integer) as installed_places,
        try_cast(try_cast(capautot as decimal(18, 3)) as integer) as authorised_places,
        coalesce(indsupinst = 'O', false) as is_installation_removed,
        coalesce(indsupaut = 'O', false) as is_authorisation_removed,
        _snapshot_sha256 as snapshot_sha256
    from source
)

select
    *,
    -- the places an establishment offers: those installed, unless the installation was removed
    case when is_installation_removed then 0 else coalesce(installed_places, 0) end as places
from renamed
