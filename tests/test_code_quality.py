"""House rules that CI enforces: lint, types and module size (STYLE.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.venvs import cache_dir

ROOT = Path(__file__).resolve().parents[1]
MAX_MODULE_LINES = 800


def _mypy(name: str, *targets: str) -> subprocess.CompletedProcess[str]:
    """mypy over ``targets``, its incremental cache kept outside the checkout
    (one per ``name``, so that workers never share one): a clean clone then
    checks again only what changed since the last run on this machine (mypy
    compares the files' hashes), seconds instead of half a minute."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--cache-dir",
            str(cache_dir() / f"mypy-{name}"),
            *targets,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )


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
    result = _mypy("homeserver", "homeserver")
    assert result.returncode == 0, result.stdout + result.stderr


def _mypy_over_sources(parent: str) -> None:
    """mypy over ``<parent>/*/src`` (each its own distribution)."""
    sources = sorted(str(path) for path in (ROOT / parent).glob("*/src"))
    result = _mypy(parent, *sources)
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
