"""Programmes: the rule files are checked here, when the definitions load, before anything runs.

The programme lists themselves are dbt models (dbt_project/models/marts/programmes/, in
the dbt assets of assets/warehouse.py, group "programmes"): the rule files reach dbt
through the Python models programmes_rule_* and each programme has a targets and a
changes model. A wrong rule file stops the code location from loading, so no build
starts with it and the message names the file and the entry to fix.
"""

from pipelines.programmes.rules import check_dbt_models, load_rules

PROGRAMME_RULES = load_rules()
check_dbt_models(PROGRAMME_RULES)
