{{ config(alias='commune_passage') }}
-- Every commune code seen in any loaded vintage (communes, déléguées, associées,
-- arrondissements, former codes, COG movements) → its commune in the target geography.
with recursive target as (
    select commune_code
    from {{ ref('stg_etalab_decoupage__communes') }}
    where commune_type = 'commune-actuelle'
      and vintage = (select geography_vintage from {{ ref('int_geography_target') }})
),

links as (
    select old_code, new_code, link_type from {{ ref('int_commune_code_links') }}
),

known_codes as (
    select commune_code as code from {{ ref('stg_etalab_decoupage__communes') }}
    union select commune_code from {{ ref('stg_insee_cog__communes') }}
    union select old_code from links
),

-- Walk the links from each code until a commune of the target geography is reached.
-- A code that is a target commune stops at once (it maps to itself).
walk as (
    select
        k.code as old_code,
        k.code as current_code,
        0 as steps,
        'same_code' as link_type,
        t.commune_code is not null as reached
    from known_codes as k
    left join target as t on t.commune_code = k.code

    union all

    select
        w.old_code,
        l.new_code,
        w.steps + 1,
        case when w.steps = 0 then l.link_type else w.link_type end,
        t.commune_code is not null
    from walk as w
    join links as l on l.old_code = w.current_code
    left join target as t on t.commune_code = l.new_code
    where not w.reached and w.steps < 8
),

reached as (
    select old_code, current_code as commune_code, steps, link_type
    from walk
    where reached
),

resolved as (
    select
        old_code,
        arg_min(commune_code, steps) as commune_code,
        min(steps) as steps,
        arg_min(link_type, steps) as link_type,
        count(distinct commune_code) > 1 as is_ambiguous
    from reached
    group by old_code
),

-- A code whose former territory now lies in more than one target commune (a commune
-- déléguée restored as a commune, say): its older values cannot be apportioned.
split_codes as (
    select distinct r.commune_code as old_code
    from {{ ref('int_commune_code_links') }} as l
    join target as t on t.commune_code = l.old_code
    join resolved as r on r.old_code = l.new_code
    where r.commune_code <> l.old_code
)

select
    r.old_code,
    r.commune_code,
    (select geography_vintage from {{ ref('int_geography_target') }}) as geography_vintage,
    r.link_type,
    r.steps,
    r.is_ambiguous,
    s.old_code is not null as is_split
from resolved as r
left join split_codes as s using (old_code)
