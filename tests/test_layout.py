"""The layout of pipelines/: imports run one way, from the user's side down to the sources.

cli → orchestration → atlas → warehouse → sources (quality, programmes and sample are libraries
any layer may use). A module importing upward is how a run path ends up in two places.
"""

from __future__ import annotations

import ast
from pathlib import Path

PIPELINES = Path(__file__).resolve().parent.parent / "pipelines"
LAYERS = ["cli", "orchestration", "atlas", "warehouse", "sources"]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_no_module_imports_a_layer_above_its_own():
    problems = []
    for rank, layer in enumerate(LAYERS):
        above = {f"pipelines.{name}" for name in LAYERS[:rank]}
        for path in sorted((PIPELINES / layer).rglob("*.py")):
            for module in imported_modules(path):
                if any(module == a or module.startswith(a + ".") for a in above):
                    problems.append(f"{path.relative_to(PIPELINES.parent)} imports {module}")
    assert problems == []


def test_the_libraries_import_no_layer_but_the_sources():
    upper = {f"pipelines.{name}" for name in ("cli", "orchestration")}
    for library in ("quality", "programmes", "sample"):
        for path in sorted((PIPELINES / library).rglob("*.py")):
            bad = [m for m in imported_modules(path) if any(m == u or m.startswith(u + ".") for u in upper)]
            assert bad == [], f"{path} imports {bad}"


def test_pipelines_has_no_flat_modules_left_but_its_settings():
    flat = sorted(p.name for p in PIPELINES.glob("*.py") if p.name != "__init__.py")
    assert flat == ["settings.py"]
