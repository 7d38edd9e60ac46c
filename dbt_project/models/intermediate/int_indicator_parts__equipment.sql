-- Equipment counts from the BPE (gp_count, pharmacy_count, post_count, grocery_count,
-- bakery_count, restaurant_count, ehpad_count) and gp_per_10k, on the target geography.
-- A count exists for a vintage only when the seed maps a code for that equipment in that
-- vintage: then a commune without any is 0; otherwise the count is absent, never 0.
with equipment_indicators as (
    select * from (values
        ('gp', 'gp_count'),
        ('pharmacy', 'pharmacy_count'),
        ('post_office', 'post_count'),
        ('post_relay', 'post_count'),
        ('post_agency', 'post_count'),
        ('grocery', 'grocery_count'),
        ('convenience_store', 'grocery_count'),
        ('bakery', 'bakery_count'),
        ('restaurant', 'restaurant_count'),
        ('ehpad', 'ehpad_count')
    ) as t (equipment, indicator_id)
),

bpe_vintages as (
    select distinct vintage from {{ ref('stg_insee_bpe__equipments') }}
),

available as (
    select distinct v.vintage, i.indicator_id
    from bpe_vintages as v
    join {{ ref('bpe_equipment_types') }} as t
      on (t.first_vintage is null or v.vintage::integer >= t.first_vintage)
     and (t.last_vintage is null or v.vintage::integer <= t.last_vintage)
    join equipment_indicators as i on i.equipment = t.equipment
),

counts as (
    select m.vintage, m.commune_code, i.indicator_id, count(*)::double as equipment_count
    from {{ ref('int_bpe_equipments_mapped') }} as m
    join equipment_indicators as i using (equipment)
    group by all
),

harmonised as (
    {{ harmonise_to_target('counts', ['equipment_count'], extra_group_by=['indicator_id']) }}
),

communes as (
    select commune_code from {{ ref('geo_commune') }} where zone in ('metro', 'drom')
),

filled as (
    select
        a.vintage,
        a.indicator_id,
        c.commune_code,
        coalesce(h.equipment_count, 0) as equipment_count,
        coalesce(h.has_split, false) as has_split
    from available as a
    cross join communes as c
    left join harmonised as h using (vintage, indicator_id, commune_code)
)

select
    indicator_id,
    vintage,
    null::varchar as base_vintage,
    null::varchar as category,
    commune_code,
    equipment_count as numerator,
    null::double as denominator,
    null::boolean as flag,
    has_split,
    'insee_bpe ' || vintage as source_vintages
from filled

union all

select
    'gp_per_10k',
    f.vintage,
    null,
    null,
    f.commune_code,
    f.equipment_count,
    p.population::double,
    null,
    f.has_split,
    'insee_bpe ' || f.vintage || ', etalab_decoupage ' || p.population_vintage
from filled as f
join {{ ref('int_population_for_year') }} as p
  on p.data_year = f.vintage::integer and p.commune_code = f.commune_code
where f.indicator_id = 'gp_count'
