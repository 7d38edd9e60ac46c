-- Typologies (density level, FRR class, ZRR class) on the target geography. A commune
-- nouvelle takes the class of its most populous predecessor; when its predecessors had
-- different classes the row is flagged (has_split) rather than blended.
with typologies as (
    select 'density_level' as indicator_id, vintage, commune_code, density_level::varchar as category
    from {{ ref('stg_insee_density_grid__communes') }}
    union all
    select 'frr_class', vintage, commune_code, frr_code from {{ ref('stg_anct_frr__communes') }}
    union all
    select 'zrr', vintage, commune_code, zrr_code from {{ ref('stg_anct_zrr__communes') }}
),

weights as (
    select commune_code, max(population) as population
    from {{ ref('stg_etalab_decoupage__communes') }}
    where population is not null
    group by commune_code
),

mapped as (
    select t.*, p.commune_code as target_code, p.is_split, coalesce(w.population, 0) as weight
    from typologies as t
    join {{ ref('geo_commune_passage') }} as p on p.old_code = t.commune_code
    left join weights as w on w.commune_code = t.commune_code
    where t.category is not null
)

select
    indicator_id,
    vintage,
    target_code as commune_code,
    {{ max_by('category', 'weight') }} as category,
    bool_or(is_split) or count(distinct category) > 1 as has_split,
    count(*) as source_codes
from mapped
group by indicator_id, vintage, target_code
