-- is_coastal (a commune under the loi Littoral: coastal share of the population above it)
-- and centre_programme (acv, pvd or none: the commune is in Action cœur de ville, in Petites
-- villes de demain, or in neither, in the latest list of each), on the target geography,
-- with the legal population of the nearest population vintage.
with littoral as (
    select l.vintage, p.commune_code, bool_or(l.is_coastal) as is_coastal, bool_or(p.is_split) as has_split
    from {{ ref('stg_anct_littoral__communes') }} as l
    join {{ ref('geo_commune_passage') }} as p on p.old_code = l.commune_code
    group by all
),

littoral_vintages as (
    select distinct vintage from {{ ref('stg_anct_littoral__communes') }}
),

coastal as (
    select c.*, coalesce(l.is_coastal, false) as is_coastal, coalesce(l.has_split, false) as has_split
    from ({{ communes_with_population('littoral_vintages') }}) as c
    left join littoral as l using (vintage, commune_code)
),

centres as (
    select c.programme, c.vintage, p.commune_code
    from {{ ref('stg_anct_centres__communes') }} as c
    join {{ ref('geo_commune_passage') }} as p on p.old_code = c.commune_code
    where c.vintage = (
        select max(vintage) from {{ ref('stg_anct_centres__communes') }} as latest where latest.programme = c.programme
    )
),

centre_vintage as (
    select max(vintage) as vintage from centres
),

programme_of as (
    select commune_code, min(programme) as programme, {{ ordered_text("programme || ' ' || vintage", "', '", 'programme') }} as lists
    from (select distinct programme, vintage, commune_code from centres)
    group by commune_code
),

centre_communes as (
    select c.*, coalesce(p.programme, 'none') as category, p.lists
    from ({{ communes_with_population('centre_vintage') }}) as c
    left join programme_of as p using (commune_code)
)

select
    'is_coastal' as indicator_id,
    vintage,
    null::varchar as base_vintage,
    null::varchar as category,
    commune_code,
    case when is_coastal then population else 0 end as numerator,
    population as denominator,
    is_coastal as flag,
    has_split,
    'anct_littoral ' || vintage || ', etalab_decoupage ' || population_vintage as source_vintages
from coastal

union all

select
    'centre_programme', vintage, null, category, commune_code, population, null, null, false,
    coalesce('anct_centres ' || lists, 'anct_centres ' || vintage) || ', etalab_decoupage ' || population_vintage
from centre_communes
where vintage is not null
