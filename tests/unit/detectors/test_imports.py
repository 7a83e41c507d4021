"""detectors/ is pure: stdlib, river, krcf and numpy only (STYLE.md import rules)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3] / "detectors"
ALLOWED_THIRD_PARTY = {"river", "krcf", "numpy"}


@pytest.mark.parametrize("path", sorted(ROOT.rglob("*.py")), ids=lambda p: p.name)
def test_detectors_import_only_pure_code(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            assert top in sys.stdlib_module_names or top in ALLOWED_THIRD_PARTY, (
                f"{path.name}: imports {name!r}; detectors/ may import only the stdlib, "
                f"{sorted(ALLOWED_THIRD_PARTY)}"
            )
