-- The target geography: the latest vintage of the Etalab communes file that was loaded.
-- Every indicator is published on it.
select max(vintage) as geography_vintage
from {{ ref('stg_etalab_decoupage__communes') }}
where commune_type = 'commune-actuelle'
