-- Points the distance indicators look for, per kind and vintage, in their zone's metric
-- system: GPs and pharmacies (BPE), train stations (SNCF list, plus BPE E107–E109),
-- France Services points, hospitals and residences for the elderly (FINESS: EHPAD and
-- résidences autonomie). facility_id names the point where its source gives it an id
-- (FINESS number, UIC code, France Services id).
with bpe as (
    select
        case
            when equipment = 'gp' then 'gp'
            when equipment = 'pharmacy' then 'pharmacy'
            when equipment like 'train_station_%' then 'station'
        end as kind,
        'insee_bpe' as source_id,
        null::varchar as facility_id,
        vintage,
        x,
        y,
        epsg,
        longitude,
        latitude
    from {{ ref('int_bpe_equipments_mapped') }}
    where equipment in ('gp', 'pharmacy') or equipment like 'train_station_%'
),

bpe_projected as (
    select kind, source_id, facility_id, vintage, {{ zone_of_epsg('epsg') }} as zone, x, y
    from bpe
    where x is not null and y is not null
),

bpe_lonlat as (
    select kind, source_id, facility_id, vintage, longitude, latitude
    from bpe
    where (x is null or y is null) and longitude is not null
),

lonlat_points as (
    select * from bpe_lonlat
    union all
    select 'station', 'sncf_stations', uic_code, vintage, longitude, latitude
    from {{ ref('stg_sncf_stations__stations') }}
    where is_passenger and longitude is not null and latitude is not null
    union all
    select 'france_services', 'anct_france_services', point_id, vintage, longitude, latitude
    from {{ ref('stg_anct_france_services__points') }}
    where longitude is not null and latitude is not null
    union all
    select 'hospital', 'finess', finess_code, vintage, longitude, latitude
    from {{ ref('stg_finess__establishments') }}
    where is_hospital and longitude is not null and latitude is not null
    union all
    select 'senior_residence', 'finess', finess_code, vintage, longitude, latitude
    from {{ ref('stg_finess__establishments') }}
    where (is_ehpad or is_residence_autonomie) and longitude is not null and latitude is not null
),

projected as (
    {{ project_to_zones('lonlat_points') }}
)

select kind, source_id, facility_id, vintage, zone, x, y from bpe_projected where zone is not null
union all
select kind, source_id, facility_id, vintage, zone, x, y from projected
