"""Make the ``evaluation`` package importable from a checkout.

The editable install in ``.venv`` was made before ``evaluation/`` existed, so its import
finder does not map the package; re-installing needs ``wheel``, which the venv lacks. Until
``pytest``'s ``pythonpath = ["."]`` (pyproject, lead) or a fresh install lands, put the repo
root on ``sys.path`` here.
"""

from __future__ import annotations

import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parents[3])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)
