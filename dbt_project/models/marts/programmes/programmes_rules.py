"""programmes.rules: one row per programme, from its rule file (pipelines/programmes/rules/)."""


def model(dbt, session):
    dbt.config(materialized="table")
    from pipelines.programmes.rules import rule_tables

    return rule_tables()["programmes"]
