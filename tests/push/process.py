"""The real server process (synctl) of the push tests that drive it with
matrix-nio: on SQLite and, with HS_TEST_POSTGRES, on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from homeserver.storage.engines import Engine, PostgresEngine
from tests.e2e.conftest import RunningServer, synctl_server


@pytest.fixture
def running_server(
    tmp_path: Path, make_engine: Callable[[], Engine]
) -> Iterator[RunningServer]:
    """A server of the test's own on each test database engine, started and
    stopped with synctl."""
    engine = make_engine()
    settings: dict[str, str] = {}
    if isinstance(engine, PostgresEngine):
        settings = {"database.dsn": engine.dsn, "database.engine": "postgres"}
    with synctl_server(tmp_path / "data", settings) as server:
        yield server
