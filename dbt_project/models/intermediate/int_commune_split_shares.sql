-- The pieces of every split code (geo.commune_passage.is_split) and the share of the code's
-- former territory each stands for, by legal population in the target geography. A code
-- is split when a commune it once absorbed is a commune again (a restoration): the commune
-- that kept the code is one piece, each restored commune another. harmonise_to_target
-- apportions the counts of such a code by these shares in the vintages that do not list
-- the restored communes themselves.
with passage as (
    select * from {{ ref('geo_commune_passage') }}
),

target_population as (
    select commune_code, coalesce(population, 0)::double as population
    from {{ ref('stg_etalab_decoupage__communes') }}
    where commune_type = 'commune-actuelle'
      and vintage = (select geography_vintage from {{ ref('int_geography_target') }})
),

-- target communes that were once part of a code which now maps to another commune
restored as (
    select distinct r.commune_code as old_code, l.old_code as piece_code
    from {{ ref('int_commune_code_links') }} as l
    join target_population as t on t.commune_code = l.old_code
    join passage as r on r.old_code = l.new_code
    where r.commune_code <> l.old_code
),

pieces as (
    select old_code, piece_code from restored
    union
    select old_code, old_code from restored
)

select
    p.old_code,
    p.piece_code,
    coalesce(
        t.population / nullif(sum(t.population) over (partition by p.old_code), 0),
        1.0 / count(*) over (partition by p.old_code)
    ) as share
from pieces as p
join target_population as t on t.commune_code = p.piece_code
