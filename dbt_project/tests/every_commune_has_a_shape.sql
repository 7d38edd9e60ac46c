-- Communes of the target geography (metropolitan France and the DROM) without a polygon in
-- geo.shapes: drawn nowhere on the atlas's maps. A warning: no contour source loaded for a
-- year near the geography, or a commune split since the contours' year.
{{ config(severity='warn') }}

select g.commune_code, g.commune_name, g.departement_code
from {{ ref('geo_commune') }} as g
where g.zone in ('metro', 'drom')
  and exists (select 1 from {{ ref('geo_shapes') }})
  and g.commune_code not in (select code from {{ ref('geo_shapes') }} where level = 'commune')
