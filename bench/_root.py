"""The repository root, put on sys.path: a benchmark run as `.venv/bin/python bench/NAME.py`
imports app and evaluation as the tests do."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
