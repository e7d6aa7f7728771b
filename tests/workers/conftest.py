"""Fixtures shared by the worker tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from homeserver.storage.engines import Engine
from tests.workers.writes_kit import HttpDeployment


@pytest.fixture
def http_deployment(
    request: pytest.FixtureRequest, make_engine: Callable[[], Engine], tmp_path: Path
) -> Iterator[HttpDeployment]:
    """An ``HttpDeployment`` (tests/workers/writes_kit.py) of main and the
    test module's ``READER`` instances."""
    made = HttpDeployment(make_engine(), tmp_path, request.module.READER)
    yield made
    made.close()
