"""Cached virtualenvs for third-party software the tests run unchanged.

Each lives outside the checkout (``~/.cache/chatly-tests/<name>-<version>/``
or under ``$XDG_CACHE_HOME``), so reruns and fresh clones on the same machine
reuse it. It is created on first use with ``python -m venv`` and pip, under a
lock file that serialises concurrent test runs; a marker file is written only
after a successful install and import check, so a half-finished install is
redone rather than used.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

PIP_TIMEOUT = 900.0


def cache_dir() -> Path:
    """Where the virtualenvs are kept between runs."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "chatly-tests"


def ensure_venv(name: str, version: str, requirement: str, check: str) -> Path:
    """The python of the virtualenv ``<name>-<version>`` with ``requirement``.

    ``check`` is Python code run in it after the install (an import).

    Raises:
        RuntimeError: the virtualenv or the install failed (with pip's output).
    """
    venv = cache_dir() / f"{name}-{version}"
    python = venv / "bin" / "python"
    marker = venv / ".chatly-installed"
    if marker.exists() and python.exists():
        return python
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f".{name}-{version}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists() and python.exists():
            return python
        steps = [
            [sys.executable, "-m", "venv", "--clear", str(venv)],
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                requirement,
            ],
            [str(python), "-c", check],
        ]
        for step in steps:
            result = subprocess.run(
                step, capture_output=True, text=True, timeout=PIP_TIMEOUT
            )
            if result.returncode != 0:
                raise RuntimeError(
                    f"installing {requirement}: {' '.join(step)} exited "
                    f"{result.returncode}:\n{result.stdout[-3000:]}\n"
                    f"{result.stderr[-3000:]}"
                )
        marker.write_text(version + "\n")
    return python
