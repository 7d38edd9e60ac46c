"""The dbt manifest on a fresh checkout: processes starting together never read half a file."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from pipelines.settings import DBT_PROJECT_DIR

PROJECT_FILES = ("models", "macros", "seeds", "tests", "dbt_project.yml", "profiles.yml")

PARSE = """
import json, sys
from pathlib import Path
from pipelines.orchestration.dbt_project import ensure_manifest
manifest = ensure_manifest(Path(sys.argv[1]))
print(len(json.loads(manifest.read_text())["nodes"]))
"""


def test_processes_starting_together_on_a_fresh_checkout_all_read_a_whole_manifest(tmp_path):
    project = tmp_path / "dbt_project"
    project.mkdir()
    for name in PROJECT_FILES:
        source = DBT_PROJECT_DIR / name
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, project / name)
    env = {**os.environ, "TERRITOIRES_HOME": str(tmp_path / "home")}
    starts = [
        subprocess.Popen([sys.executable, "-c", PARSE, str(project)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    outcomes = [process.communicate(timeout=300) for process in starts]

    assert [process.returncode for process in starts] == [0, 0, 0], [err[-2000:] for _, err in outcomes]
    nodes = {out.strip() for out, _ in outcomes}
    assert len(nodes) == 1 and int(nodes.pop()) > 100  # every process read the same, whole manifest
    manifest = json.loads((project / "target" / "manifest.json").read_text())
    assert any(key.startswith("model.territoires.") for key in manifest["nodes"])
    # the private parse folders are gone: only the swapped-in files remain
    assert not [p for p in (project / "target").iterdir() if p.name.startswith("parse-")]
