-- Cafés and shops that closed or opened in the three years before each Sirene stock's month
-- (cafe_closures_3y, shops_closed_3y, shops_opened_3y, shops_net_change_3y: retail NAF 47 and
-- the catalogue's personal services; a closure is a closed establishment whose closing date
-- — the start of its closed period — falls in the window, an opening an establishment
-- created in it), and the shops of the BPE (shop_count: domain B, commerces; shops_per_1000).
-- Every commune has a count (0 when none) for the loaded vintages.
with establishments as (
    select
        vintage,
        commune_code,
        is_active,
        is_cafe,
        is_retail or is_personal_service as is_shop,
        created_on,
        closed_on,
        {{ years_before("cast(vintage || '-01' as date)", 3) }} as since
    from {{ ref('stg_insee_sirene__establishments') }}
    where commune_code is not null
),

sirene_counts as (
    select
        vintage,
        commune_code,
        count(*) filter (where is_cafe and not is_active and closed_on >= since)::double as cafe_closures,
        count(*) filter (where is_shop and not is_active and closed_on >= since)::double as shops_closed,
        count(*) filter (where is_shop and created_on >= since)::double as shops_opened
    from establishments
    group by all
),

sirene_harmonised as (
    {{ harmonise_to_target('sirene_counts', ['cafe_closures', 'shops_closed', 'shops_opened']) }}
),

sirene_vintages as (
    select distinct vintage from {{ ref('stg_insee_sirene__establishments') }}
),

sirene_filled as (
    select
        c.*,
        coalesce(h.cafe_closures, 0) as cafe_closures,
        coalesce(h.shops_closed, 0) as shops_closed,
        coalesce(h.shops_opened, 0) as shops_opened,
        coalesce(h.has_split, false) as has_split
    from ({{ communes_with_population('sirene_vintages') }}) as c
    left join sirene_harmonised as h using (vintage, commune_code)
),

shops as (
    select vintage, commune_code, count(*)::double as shops
    from {{ ref('stg_insee_bpe__equipments') }}
    where typequ like 'B%'
    group by all
),

shops_harmonised as (
    {{ harmonise_to_target('shops', ['shops']) }}
),

bpe_vintages as (
    select distinct vintage from {{ ref('stg_insee_bpe__equipments') }}
),

shops_filled as (
    select c.*, coalesce(h.shops, 0) as shops, coalesce(h.has_split, false) as has_split
    from ({{ communes_with_population('bpe_vintages') }}) as c
    left join shops_harmonised as h using (vintage, commune_code)
),

sirene_parts as (
    select * from (values ('cafe_closures_3y'), ('shops_closed_3y'), ('shops_opened_3y'), ('shops_net_change_3y'))
        as t (indicator_id)
)

select
    p.indicator_id,
    f.vintage,
    null::varchar as base_vintage,
    null::varchar as category,
    f.commune_code,
    case p.indicator_id
        when 'cafe_closures_3y' then f.cafe_closures
        when 'shops_closed_3y' then f.shops_closed
        when 'shops_opened_3y' then f.shops_opened
        else f.shops_opened - f.shops_closed
    end as numerator,
    null::double as denominator,
    null::boolean as flag,
    f.has_split,
    'insee_sirene ' || f.vintage as source_vintages
from sirene_filled as f
cross join sirene_parts as p

union all

select 'shop_count', vintage, null, null, commune_code, shops, null, null, has_split, 'insee_bpe ' || vintage
from shops_filled

union all

select 'shops_per_1000', vintage, null, null, commune_code, shops, population, null, has_split,
       'insee_bpe ' || vintage || ', etalab_decoupage ' || population_vintage
from shops_filled
