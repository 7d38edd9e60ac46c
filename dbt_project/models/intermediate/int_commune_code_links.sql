-- Edges "this code is now part of that commune", observed in any loaded vintage of
-- either source. geo.commune_passage walks them to the target geography.
with etalab as (
    select * from {{ ref('stg_etalab_decoupage__communes') }}
),

former_codes as (
    select {{ unnest_list('former_codes') }} as old_code, commune_code as new_code, 'former_code' as link_type, vintage
    from etalab
    where commune_type = 'commune-actuelle'
),

delegated as (
    select
        commune_code as old_code,
        parent_commune_code as new_code,
        replace(commune_type, '-', '_') as link_type,
        vintage
    from etalab
    where commune_type in ('commune-deleguee', 'commune-associee')
),

arrondissements as (
    select commune_code as old_code, plm_commune_code as new_code, 'arrondissement_municipal' as link_type, vintage
    from etalab
    where commune_type = 'arrondissement-municipal'
),

cog_parents as (
    select
        commune_code as old_code,
        parent_commune_code as new_code,
        case commune_type
            when 'COMD' then 'commune_deleguee'
            when 'COMA' then 'commune_associee'
            else 'arrondissement_municipal'
        end as link_type,
        vintage
    from {{ ref('stg_insee_cog__communes') }}
    where commune_type in ('COMD', 'COMA', 'ARM')
),

-- Mergers and code changes; a restoration (21) or a creation (20) carves a new commune out
-- of an existing one and is not a "now part of" link.
cog_movements as (
    select code_before as old_code, code_after as new_code, 'cog_movement_' || movement_code as link_type, vintage
    from {{ ref('stg_insee_cog__movements') }}
    where movement_code in (31, 32, 33, 34, 41, 50)
      and type_before = 'COM'
      and type_after = 'COM'
),

links as (
    select * from former_codes
    union all select * from delegated
    union all select * from arrondissements
    union all select * from cog_parents
    union all select * from cog_movements
)

select
    old_code,
    new_code,
    min(link_type) as link_type,
    {{ sorted_set('vintage') }} as seen_in_vintages
from links
where old_code is not null and new_code is not null and old_code <> new_code
group by old_code, new_code
