"""House rules that CI enforces: lint, types and module size (STYLE.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_MODULE_LINES = 800


def test_ruff_is_clean() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "homeserver",
            "tests",
            "synctl",
            "bridges",
            "plugins",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_clean() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "homeserver"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _mypy_over_sources(parent: str) -> None:
    """mypy over ``<parent>/*/src`` (each its own distribution)."""
    sources = sorted(str(path) for path in (ROOT / parent).glob("*/src"))
    result = subprocess.run(
        [sys.executable, "-m", "mypy", *sources],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_bridges_mypy_is_clean() -> None:
    """The bridges (bridges/*/src, each its own distribution) type-check too."""
    _mypy_over_sources("bridges")


def test_plugins_mypy_is_clean() -> None:
    """The shipped plugins (plugins/*/src) type-check too."""
    _mypy_over_sources("plugins")


def test_modules_stay_small() -> None:
    too_big = [
        f"{path.relative_to(ROOT)}: {count} lines"
        for path in sorted((ROOT / "homeserver").rglob("*.py"))
        if (count := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    ]
    assert not too_big, "split these modules (STYLE.md 5.4): " + ", ".join(too_big)
