-- Every commune of the target geography → its zone at each of INSEE's levels (arrondissement,
-- canton, zone d'emploi, unité urbaine, aire d'attraction, bassin de vie), one row per
-- commune and level, from INSEE's table d'appartenance.
--
-- Each level is read from the newest COG vintage of the table that gives it, up to the
-- target geography's year (the oldest one after it when none is that old). A commune is
-- placed (placed_by), in this order of preference:
--   table    its own code is in the table;
--   passage  a code of the table reaches it through geo.commune_passage (a commune nouvelle
--            takes the zone of the commune whose code it kept, else of its smallest former code);
--   split    it was restored from a commune of the table (int_commune_split_shares): it takes
--            the zone of the commune it was part of;
--   nearest  none of these (a restoration the loaded files do not record): the zone of the
--            nearest placed commune of its département, town hall to town hall
--            (commune_locations); a commune without a known point stays unplaced, and the
--            publish check on populations then says so.
-- A vintage of the table that does not place a commune is followed by the next one, newest first.
with target as (
    select geography_vintage from {{ ref('int_geography_target') }}
),

communes as (
    select * from {{ ref('stg_insee_appartenance__communes') }}
),

long as (
    select vintage, commune_code, 'arrondissement' as level, arrondissement_code as code, null as category from communes
    union all
    select vintage, commune_code, 'canton', canton_code, null from communes
    union all
    select vintage, commune_code, 'zone_emploi', zone_emploi_code, null from communes
    union all
    select vintage, commune_code, 'unite_urbaine', unite_urbaine_code, null from communes
    union all
    select vintage, commune_code, 'aire_attraction', aire_attraction_code, aire_attraction_category from communes
    union all
    select vintage, commune_code, 'bassin_vie', bassin_vie_code, null from communes
),

vintages as (
    -- each level's vintages, the preferred one first
    select
        l.level,
        l.vintage,
        row_number() over (
            partition by l.level
            order by (l.vintage <= t.geography_vintage) desc,
                     case when l.vintage <= t.geography_vintage then l.vintage end desc,
                     l.vintage
        ) as preference
    from (select distinct level, vintage from long where code is not null) as l
    cross join target as t
),

placed as (
    select
        l.level,
        coalesce(p.commune_code, l.commune_code) as commune_code,
        l.code,
        l.category,
        l.vintage,
        v.preference,
        case when l.commune_code = coalesce(p.commune_code, l.commune_code) then 'table' else 'passage' end as placed_by,
        l.commune_code as old_code
    from long as l
    join vintages as v using (level, vintage)
    left join {{ ref('geo_commune_passage') }} as p on p.old_code = l.commune_code
    where l.code is not null

    union all

    select l.level, s.piece_code, l.code, l.category, l.vintage, v.preference, 'split', l.commune_code
    from long as l
    join vintages as v using (level, vintage)
    join {{ ref('int_commune_split_shares') }} as s on s.old_code = l.commune_code
    where l.code is not null and s.piece_code <> l.commune_code
),

target_communes as (
    select c.commune_code, c.departement_code
    from {{ ref('stg_etalab_decoupage__communes') }} as c
    join target as t on c.vintage = t.geography_vintage
    where c.commune_type = 'commune-actuelle'
),

chosen as (
    select p.level, p.commune_code, p.code, p.category, p.vintage as zoning_vintage, p.placed_by
    from placed as p
    join target_communes using (commune_code)
    qualify row_number() over (
        partition by p.level, p.commune_code
        order by p.preference, case p.placed_by when 'table' then 1 when 'passage' then 2 else 3 end, p.old_code
    ) = 1
),

points as (
    -- the town hall (else the centre) of each target commune, from the latest locations file
    select
        p.commune_code,
        {{ min_by('coalesce(l.town_hall_longitude, l.centre_longitude)', '(l.commune_code <> p.commune_code)::integer') }} as longitude,
        {{ min_by('coalesce(l.town_hall_latitude, l.centre_latitude)', '(l.commune_code <> p.commune_code)::integer') }} as latitude
    from {{ ref('stg_commune_locations__communes') }} as l
    join {{ ref('geo_commune_passage') }} as p on p.old_code = l.commune_code
    where l.vintage = (select max(vintage) from {{ ref('stg_commune_locations__communes') }})
      and coalesce(l.town_hall_longitude, l.centre_longitude) is not null
      and coalesce(l.town_hall_latitude, l.centre_latitude) is not null
    group by p.commune_code
),

unplaced as (
    select t.commune_code, t.departement_code, lv.level
    from target_communes as t
    cross join (select distinct level from chosen) as lv
    where not exists (select 1 from chosen as c where c.level = lv.level and c.commune_code = t.commune_code)
),

nearest as (
    select u.level, u.commune_code, c.code, c.category, c.zoning_vintage, 'nearest' as placed_by
    from unplaced as u
    join points as pu on pu.commune_code = u.commune_code
    join target_communes as t on t.departement_code = u.departement_code
    join chosen as c on c.level = u.level and c.commune_code = t.commune_code
    join points as pc on pc.commune_code = c.commune_code
    qualify row_number() over (
        partition by u.level, u.commune_code
        order by power(pc.longitude - pu.longitude, 2) + power(pc.latitude - pu.latitude, 2), c.commune_code
    ) = 1
)

select level, commune_code, code, category, zoning_vintage, placed_by from chosen
union all
select level, commune_code, code, category, zoning_vintage, placed_by from nearest
