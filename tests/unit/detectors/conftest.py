"""Make the ``detectors`` package importable from a checkout.

The editable install in ``.venv`` was made while ``detectors/`` was an empty folder, so its
import finder maps ``detectors`` as a namespace package (``__init__`` never runs). Until
pytest's ``pythonpath = ["."]`` (pyproject, lead) or a fresh install lands, put the repo root
on ``sys.path`` first, and drop a namespace ``detectors`` that tests collected earlier (e.g.
``from detectors.assessment import ...`` in connector tests) left in ``sys.modules``, so the
real package is imported.
"""

from __future__ import annotations

import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parents[3])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

_loaded = sys.modules.get("detectors")
if _loaded is not None and getattr(_loaded, "__file__", None) is None:
    for _name in [n for n in sys.modules if n == "detectors" or n.startswith("detectors.")]:
        del sys.modules[_name]
