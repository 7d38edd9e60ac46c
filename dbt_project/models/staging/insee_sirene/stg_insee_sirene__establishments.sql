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
        activitePrincipaleEtablissement as naf_code,
        activitePrincipaleNAF25Etablissement as naf_2025_code,
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

select * from renamed
