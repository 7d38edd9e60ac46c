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

target_population as (
    select commune_code, population
    from {{ ref('stg_etalab_decoupage__communes') }}
    where commune_type = 'commune-actuelle'
      and vintage = (select geography_vintage from {{ ref('int_geography_target') }})
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
    select w.old_code, w.current_code as commune_code, w.steps, w.link_type,
           coalesce(p.population, 0) as target_population
    from walk as w
    left join target_population as p on p.commune_code = w.current_code
    where w.reached
),

-- An old code may reach several target communes (a code listed as délégué of one commune
-- and merged into another by a later movement, say). One documented rule picks one, so two
-- builds on the same inputs map it alike: the nearest (fewest links), then the target that
-- kept the old code (the chef-lieu keeps its code in a merger), then the most populated
-- target, then the smallest code.
ranked as (
    select
        *,
        row_number() over (
            partition by old_code
            order by steps, (commune_code <> old_code), target_population desc, commune_code
        ) as choice
    from reached
),

targets_per_code as (
    select old_code, count(distinct commune_code) > 1 as is_ambiguous
    from reached
    group by old_code
),

resolved as (
    select r.old_code, r.commune_code, r.steps, r.link_type, t.is_ambiguous
    from ranked as r
    join targets_per_code as t using (old_code)
    where r.choice = 1
),

-- A code whose former territory now lies in more than one target commune (a commune
-- déléguée restored as a commune, say): its older counts are apportioned between them by
-- population (int_commune_split_shares), its older classes are flagged (has_split).
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
