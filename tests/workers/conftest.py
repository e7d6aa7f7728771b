"""Fixtures shared by the worker tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from homeserver.storage.engines import Engine
from tests.support.private_redis import PrivateRedis, running_private_redis
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


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateRedis]:
    """A redis-server of the test module's own (tests/support/private_redis.py),
    never the machine's: tests that stop it or flush it."""
    with running_private_redis(tmp_path_factory.mktemp("redis")) as server:
        yield server
