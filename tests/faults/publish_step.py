"""The end of a build on a data home whose build database is built: publish, then export.

`python tests/faults/publish_step.py HOME` runs what the build's `warehouse/published` and
`exports/latest` assets run (publish() then export_warehouse() into <home>/exports), and
prints the published build id. The fault suite kills it at the publish and export
failpoints, and runs it while readers query, without a whole dbt build each time.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pipelines.settings import DataHome
from pipelines.warehouse.exports import export_warehouse
from pipelines.warehouse.publish import new_build_id, publish

if __name__ == "__main__":
    home = DataHome(Path(sys.argv[1]))
    report = publish(home, build_id=new_build_id(), sample=True)
    export_warehouse(home.warehouse, home.exports)
    print(report.build_id)
