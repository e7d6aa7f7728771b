"""Tools a test tier installs on first use: skip without them, fail in CI."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar

import pytest

T = TypeVar("T")


def installed_or_skip(what: str, install: Callable[[], T]) -> T:
    """``install()``'s result; if it raises, skip the test, or fail it when CI
    is set (CI must run every tier)."""
    try:
        return install()
    except Exception as exc:  # noqa: BLE001 - any failure means no tool
        if os.environ.get("CI"):
            pytest.fail(f"CI: cannot install {what}: {exc}")
        pytest.skip(f"cannot install {what}: {exc}")
