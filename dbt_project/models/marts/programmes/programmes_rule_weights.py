"""programmes.rule_weights: the weighted indicators of every programme's priority score."""


def model(dbt, session):
    dbt.config(materialized="table")
    from pipelines.programmes.rules import rule_tables

    return rule_tables()["weights"]
