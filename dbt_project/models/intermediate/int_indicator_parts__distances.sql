-- dist_gp_km, dist_pharmacy_km, dist_station_km, dist_france_services_km, dist_hospital_km,
-- dist_senior_residence_km (EHPAD or résidence autonomie): distance from each commune to the
-- nearest facility; above the commune, population-weighted means.
with distances as (
    select d.*, p.population::double as population, p.population_vintage
    from {{ ref('int_nearest_facility') }} as d
    join {{ ref('int_population_for_year') }} as p
      on p.data_year = d.vintage[1:4]::integer and p.commune_code = d.commune_code
),

kinds as (
    select * from (values
        ('gp', 'dist_gp_km', 'insee_bpe'),
        ('pharmacy', 'dist_pharmacy_km', 'insee_bpe'),
        ('station', 'dist_station_km', 'sncf_stations/insee_bpe'),
        ('france_services', 'dist_france_services_km', 'anct_france_services'),
        ('hospital', 'dist_hospital_km', 'finess'),
        ('senior_residence', 'dist_senior_residence_km', 'finess')
    ) as k (kind, indicator_id, source_id)
)

select
    k.indicator_id,
    d.vintage,
    null::varchar as base_vintage,
    null::varchar as category,
    d.commune_code,
    d.distance_km * d.population as numerator,
    d.population as denominator,
    null::boolean as flag,
    false as has_split,
    k.source_id || ' ' || d.vintage || ', commune_locations, etalab_decoupage ' || d.population_vintage as source_vintages
from distances as d
join kinds as k using (kind)
