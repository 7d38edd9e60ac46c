-- INSEE's statistics per QPV, renamed and typed; the original column names are in the model's yml.
-- Counts are integers, rates and ratios doubles (percentages as published); null where the file
-- gives nothing (statistical secret, too few people).
with source as (
    select * from {{ source('anct_qpv', 'statistics') }}
),

renamed as (
    select
        _vintage as vintage,
        code_qp as qpv_code,
        -- population
        try_cast(pop_mun as integer) as population,
        try_cast(pop_com_qp as integer) as communes_qpv_population,
        try_cast(pop_com as integer) as communes_population,
        try_cast(ind_jeune as double) as youth_index,
        try_cast(tx_tot_et as double) as foreigners_share,
        try_cast(tx_f as double) as women_share,
        try_cast(tx_f_et as double) as foreign_women_share,
        -- income and poverty
        try_cast(percou as integer) as caf_covered_people,
        try_cast(pmimp as double) as taxed_households_share,
        try_cast(part_chomprinc as double) as unemployment_income_households_share,
        try_cast(decuc_q2 as integer) as declared_income_median,
        try_cast(decuc_d1 as integer) as declared_income_d1,
        try_cast(decuc_d9 as integer) as declared_income_d9,
        try_cast(disp_q2 as integer) as disposable_income_median,
        try_cast(disp_d1 as integer) as disposable_income_d1,
        try_cast(disp_d9 as integer) as disposable_income_d9,
        try_cast(tp60 as double) as poverty_rate,
        try_cast(brev as double) as low_income_rate,
        try_cast(a as integer) as caf_recipient_households,
        -- employment
        try_cast(tx_tot_empl as double) as employment_rate,
        try_cast(tx_f_empl as double) as women_employment_rate,
        try_cast(tx_et_empl as double) as foreigners_employment_rate,
        try_cast(tx_tot_eprec as double) as precarious_employment_share,
        try_cast(tx_f_eprec as double) as women_precarious_employment_share,
        try_cast(tx_et_eprec as double) as foreigners_precarious_employment_share,
        try_cast(abcde as integer) as job_seekers,
        try_cast(abcde_f as integer) as women_job_seekers,
        try_cast(abcde_h as integer) as men_job_seekers,
        try_cast(abc_capbep as integer) as job_seekers_cap_bep,
        try_cast(abc_bac as integer) as job_seekers_bac,
        try_cast(abc_supbac as integer) as job_seekers_above_bac,
        -- schools nearby
        try_cast(ec_mat as integer) as nursery_schools,
        try_cast(ec_elem as integer) as primary_schools,
        try_cast(ec_elem_pri as integer) as private_primary_schools,
        try_cast(coll as integer) as lower_secondary_schools,
        try_cast(coll_pri as integer) as private_lower_secondary_schools,
        -- businesses
        try_cast(nbetab as integer) as establishments,
        try_cast(ens_sante as integer) as education_health_social_establishments,
        try_cast(serv_par as integer) as personal_service_establishments,
        try_cast(serv_tot as integer) as service_establishments,
        try_cast(auto_ent as integer) as self_employed_creations,
        _snapshot_sha256 as snapshot_sha256
    from source
)

select * from renamed
