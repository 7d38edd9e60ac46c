{{ config(alias='commune') }}
-- depends_on: {{ ref('indicator_definitions') }}
-- indicators.commune: one row per commune, the latest vintage of each indicator with that
-- vintage beside it (and the category label of typologies), for analysts who do not want
-- to pivot indicators.long. Columns follow indicator_definitions.
{% set definitions = [] %}
{% if execute %}
    {% set definitions = run_query("select indicator_id, formula from " ~ ref('indicator_definitions') ~ " order by indicator_id").rows %}
{% endif %}
with latest as (
    select l.indicator_id, l.code as commune_code, l.value, l.vintage, c.label_fr as category_label
    from {{ ref('indicators_long') }} as l
    left join {{ ref('indicator_categories') }} as c
      on c.indicator_id = l.indicator_id and c.category = l.category
    where l.level = 'commune'
    qualify row_number() over (partition by l.indicator_id, l.code order by l.vintage desc) = 1
)

select
    g.commune_code,
    g.commune_name,
    g.epci_code,
    g.departement_code,
    g.region_code,
    g.zone,
    g.geography_vintage,
    {% for indicator_id, formula in definitions %}
    max(l.value) filter (where l.indicator_id = '{{ indicator_id }}') as {{ indicator_id }},
    {% if formula == 'category' %}
    max(l.category_label) filter (where l.indicator_id = '{{ indicator_id }}') as {{ indicator_id }}_label,
    {% endif %}
    max(l.vintage) filter (where l.indicator_id = '{{ indicator_id }}') as {{ indicator_id }}_vintage,
    {% endfor %}
from {{ ref('geo_commune') }} as g
left join latest as l using (commune_code)
where g.zone in ('metro', 'drom')
group by all
