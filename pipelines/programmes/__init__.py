"""Programme targeting: rule files, the lists dbt computes from them, changes and lineage.

- `rules`: the rule files (`rules/<programme>.yml`), checked before anything is built, and
  laid out as tables for the dbt models of `dbt_project/models/marts/programmes/`.
- `changes`: the lists of the last published build, that dbt compares with the new ones.
- `targets`: reading the published lists (`territoires target`).
- `lineage`: one commune explained, down to the raw snapshots (`territoires target --explain`).
"""
