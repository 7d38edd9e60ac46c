{#- FINESS's own département codes overseas → INSEE's: 9A Guadeloupe … 9F Mayotte, 9J Wallis-et-Futuna. -#}
{%- set overseas_departements = {'9A': '971', '9B': '972', '9C': '973', '9D': '974', '9E': '975', '9F': '976', '9J': '986'} -%}
{#- The projection of the coordinates of an overseas zone when sourcecoordet names none (Lambert-93 in
    metropolitan France and Corsica). Only these are transformed: another code is left without WGS84. -#}
{%- set overseas_epsg = {'971': 5490, '972': 5490, '973': 2972, '974': 2975, '975': 4467, '976': 4471, '986': 32701} -%}
{%- set known_epsg = [2154, 5490, 2972, 2975, 4467, 4471, 32621, 32701] -%}
{#- Centres hospitaliers régionaux (and CHU sites), centres hospitaliers, ex-hôpitaux locaux (hôpitaux de proximité). -#}
{%- set hospital_categories = ['101', '355', '106'] -%}
{%- set metropolitan = "'^([0-9]{2}|2[AB])$'" -%}

with source as (
    select * from {{ source('finess', 'establishments') }}
),

coded as (
    select
        *,
        case upper(trim(departement))
            {% for finess, insee in overseas_departements.items() -%}
            when '{{ finess }}' then '{{ insee }}'
            {% endfor -%}
            else upper(trim(departement))
        end as departement_code,
        lpad(trim(commune), 3, '0') as commune_part,
        try_cast(coordxet as double) as x,
        try_cast(coordyet as double) as y
    from source
),

projected as (
    select
        *,
        -- the département's code and the commune's 3 digits; overseas, the département's 3 digits and the last 2
        case
            when {{ regex_matches('departement_code', metropolitan) }} then departement_code || commune_part
            when {{ regex_matches('departement_code', "'^9[78][0-9]$'") }} then departement_code || right(commune_part, 2)
        end as insee_code,
        case
            when x is null or y is null then null
            else coalesce(
                -- "1,ATLASANTE,96,BAN,EPSG:2154 RGF93 / Lambert-93 (Métropole)"
                try_cast(nullif(replace({{ regex_extract('sourcecoordet', "'EPSG:[0-9]+'") }}, 'EPSG:', ''), '') as integer),
                case
                    when {{ regex_matches('departement_code', metropolitan) }} then 2154
                    {% for departement, epsg in overseas_epsg.items() -%}
                    when departement_code = '{{ departement }}' then {{ epsg }}
                    {% endfor -%}
                end
            )
        end as epsg
    from coded
),

renamed as (
    select
        _vintage as vintage,
        nofinesset as finess_code,
        nofinessej as legal_entity_code,
        coalesce(rslongue, rs) as name,
        rs as short_name,
        categetab as category_code,
        libcategetab as category_label,
        categagretab as category_group_code,
        libcategagretab as category_group_label,
        departement_code,
        -- arrondissement codes for Paris, Lyon and Marseille, as in the file
        {{ normalise_commune_code('insee_code') }} as commune_code,
        case
            when {{ regex_matches('ligneacheminement', "'^[0-9]{5}'") }} then left(ligneacheminement, 5)
        end as postal_code,
        siret,
        x,
        y,
        epsg,
        case when epsg in ({{ known_epsg | join(', ') }}) then {{ longitude_from_projected('x', 'y', 'epsg') }} end as longitude,
        case when epsg in ({{ known_epsg | join(', ') }}) then {{ latitude_from_projected('x', 'y', 'epsg') }} end as latitude,
        sourcecoordet as coordinates_source,
        try_cast(dateouv as date) as opened_on,
        try_cast(dateautor as date) as authorised_on,
        try_cast(datemaj as date) as updated_on,
        try_cast(datemaj_geolocalisation as date) as coordinates_updated_on,
        try_cast(extraction_date as date) as extracted_on,
        coalesce(categetab in ('{{ hospital_categories | join("', '") }}'), false) as is_hospital,
        coalesce(categetab = '500', false) as is_ehpad,
        coalesce(categetab = '202', false) as is_residence_autonomie,
        _snapshot_sha256 as snapshot_sha256
    from projected
)

select * from renamed
