{{ config(alias='categories') }}
-- The categories of the typology indicators, with their rank (the commune-level value) and label.
select indicator_id, category, category_rank, label_fr
from {{ ref('indicator_categories') }}
