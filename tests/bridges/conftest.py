"""Bridge tests import the bridges' packages from their source trees.

Each bridge is its own distribution under bridges/<name>/src (installable with
pip, see docs/bridges.md); the tests put those src directories on sys.path
rather than installing them, and the bridge processes they start get the same
directories on PYTHONPATH (``bridge_pythonpath``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BRIDGE_SOURCES = [
    ROOT / "bridges" / name / "src" for name in ("kit", "irc", "webhooks")
]

for source in BRIDGE_SOURCES:
    if str(source) not in sys.path:
        sys.path.insert(0, str(source))


def bridge_pythonpath() -> str:
    """PYTHONPATH for a bridge subprocess: the bridges' sources and the repo."""
    parts = [str(s) for s in BRIDGE_SOURCES] + [str(ROOT)]
    existing = os.environ.get("PYTHONPATH")
    return os.pathsep.join(parts + ([existing] if existing else []))


from tests.support.ngircd import ngircd  # noqa: E402, F401 - the fixture
