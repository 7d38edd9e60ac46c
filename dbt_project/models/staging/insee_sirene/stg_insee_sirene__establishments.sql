{#- Cafés and bars (débits de boissons): 56.30Z in NAF rév. 2, 56.30Y in NAF 2025. Each must also
    be kept by the reader: pipelines/sources/catalogue/insee_sirene.yml, parse: naf_codes and
    naf25_codes (tests/test_source_insee_sirene.py checks it). -#}
{%- set cafe_naf_codes = ['56.30Z'] -%}
{%- set cafe_naf_2025_codes = ['56.30Y'] -%}
{%- set rev2_list = "'" ~ cafe_naf_codes | join("', '") ~ "'" -%}
{%- set naf25_list = "'" ~ cafe_naf_2025_codes | join("', '") ~ "'" -%}
{#- Shops: division 47 (commerce de détail) of the main activity, in NAF rév. 2 or, from 2027, in
    NAF 2025. Hairdressers and beauty salons: 96.02A and 96.02B in NAF rév. 2, classes 96.21 and
    96.22 in NAF 2025. The reader keeps them (parse: naf_prefixes, naf_codes, naf25_prefixes;
    tests/test_source_insee_sirene.py checks it). The main activity alone decides, in whatever
    nomenclature it is: a closed establishment has no NAF 2025 code, so the closures and the
    openings are counted on the same footing. -#}
{%- set retail_prefix = '47.' -%}
{%- set personal_service_naf_codes = ['96.02A', '96.02B'] -%}
{%- set personal_service_naf_2025_prefixes = ['96.21', '96.22'] -%}
{#- Sirene writes its codes with their dot (56.30Z, 56.30Y); one written without (5630Y, as in
    INSEE's own NAF 2025 tools) gets it back, so that it is still recognised. -#}
{%- set dotted = "case when " ~ regex_matches('COLUMN', "'^[0-9]{4}[A-Z]$'") ~ " then substr(COLUMN, 1, 2) || '.' || substr(COLUMN, 3) else COLUMN end" -%}
with source as (
    select * from {{ source('insee_sirene', 'establishments') }}
),

renamed as (
    select
        _vintage as vintage,
        siret,
        siren,
        -- Paris, Lyon and Marseille establishments carry their arrondissement; abroad: null
        {{ normalise_commune_code('codeCommuneEtablissement') }} as commune_code,
        codePostalEtablissement as postal_code,
        {{ dotted | replace('COLUMN', 'activitePrincipaleEtablissement') }} as naf_code,
        nomenclatureActivitePrincipaleEtablissement as naf_nomenclature,
        {{ dotted | replace('COLUMN', 'activitePrincipaleNAF25Etablissement') }} as naf_2025_code,
        etatAdministratifEtablissement = 'A' as is_active,
        -- 'P': a person asked to hide the address, coordinates and names ([ND]); the commune stays
        statutDiffusionEtablissement = 'P' as is_partially_diffusible,
        coalesce(
            nullif(trim(enseigne1Etablissement), '[ND]'),
            nullif(trim(denominationUsuelleEtablissement), '[ND]')
        ) as name,
        try_cast(dateCreationEtablissement as date) as created_on,
        -- start of the current state (opening, last change, or closure when closed)
        try_cast(dateDebut as date) as state_since,
        try_cast(dateDernierTraitementEtablissement as timestamp) as processed_at,
        try_cast(etablissementSiege as boolean) as is_head_office,
        nullif(trancheEffectifsEtablissement, 'NN') as headcount_band,
        caractereEmployeurEtablissement = 'O' as is_employer,
        try_cast(nullif(coordonneeLambertAbscisseEtablissement, '[ND]') as double) as x,
        try_cast(nullif(coordonneeLambertOrdonneeEtablissement, '[ND]') as double) as y,
        -- Sirene projects overseas establishments in their legal local system, not Lambert-93
        case
            when try_cast(nullif(coordonneeLambertAbscisseEtablissement, '[ND]') as double) is null then null
            when codeCommuneEtablissement like '971%' or codeCommuneEtablissement like '972%'
                or codeCommuneEtablissement like '977%' or codeCommuneEtablissement like '978%' then 5490
            when codeCommuneEtablissement like '973%' then 2972
            when codeCommuneEtablissement like '974%' then 2975
            when codeCommuneEtablissement like '975%' then 4467
            when codeCommuneEtablissement like '976%' then 4471
            else 2154
        end as coordinates_epsg,
        _snapshot_sha256 as snapshot_sha256
    from source
)

select
    *,
    -- a café in NAF rév. 2, or in NAF 2025 (its own column since December 2025, and the main
    -- activity from 2027, when NAF 2025 becomes the reference nomenclature)
    coalesce(
        (naf_nomenclature = 'NAFRev2' and naf_code in ({{ rev2_list }}))
        or naf_2025_code in ({{ naf25_list }})
        or (naf_nomenclature <> 'NAFRev2' and naf_code in ({{ naf25_list }})),
        false
    ) as is_cafe,
    coalesce(naf_code like '{{ retail_prefix }}%', false) as is_retail,
    coalesce(
        naf_code in ('{{ personal_service_naf_codes | join("', '") }}')
        {%- for prefix in personal_service_naf_2025_prefixes %}
        or naf_code like '{{ prefix }}%'
        {%- endfor %},
        false
    ) as is_personal_service,
    -- a closed establishment's current period began with its closure (see the catalogue's notes)
    case when not is_active then state_since end as closed_on
from renamed
