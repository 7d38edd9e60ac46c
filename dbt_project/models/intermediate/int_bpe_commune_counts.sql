-- INSEE's own equipment counts per commune and type (DS_BPE), each equipment counted once.
-- The DS_BPE file lists Paris, Lyon and Marseille both as communes (75056, 69123, 13055,
-- geo_level COM) and by arrondissement municipal (ARM), the arrondissements summing to the
-- city: the city's row is kept and its arrondissements are dropped, unless the file has no
-- row of the city for that type (then the arrondissements stand for it). Read by the check
-- bpe_points_match_insee_counts, which compares the detail file's points with these counts.
with counts as (
    select * from {{ ref('stg_insee_bpe__commune_counts') }}
),

with_city as (
    select
        *,
        case when geo_level = 'ARM' then {{ plm_city_code('commune_code') }} end as city_code
    from counts
),

cities_listed as (
    select distinct vintage, commune_code, typequ
    from with_city
    where commune_code in ('75056', '69123', '13055') and geo_level = 'COM'
)

select
    c.vintage,
    c.commune_code,
    c.geo_level,
    c.typequ,
    sum(c.equipment_count) as equipment_count,
    min(c.reference_year) as reference_year
from with_city as c
left join cities_listed as l
    on l.vintage = c.vintage and l.commune_code = c.city_code and l.typequ = c.typequ
where l.commune_code is null
group by all
