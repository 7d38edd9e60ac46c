"""programmes.rule_criteria: the eligibility criteria of every programme's rule file."""


def model(dbt, session):
    dbt.config(materialized="table")
    from pipelines.programmes.rules import rule_tables

    return rule_tables()["criteria"]
