"""The fault suite: every test under tests/faults carries the `faults` marker.

Run it alone with `pytest -m faults`; `make test` runs it with everything else.
"""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.faults)
