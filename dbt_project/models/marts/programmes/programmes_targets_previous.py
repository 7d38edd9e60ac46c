"""programmes.targets_previous: every programme's list in the last published warehouse."""


def model(dbt, session):
    dbt.config(materialized="table")
    from pipelines.programmes.changes import previous_targets

    return previous_targets(session)
