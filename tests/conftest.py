"""Fixtures: every test that uses ``server`` runs on SQLite and, when
HS_TEST_POSTGRES is set, again on PostgreSQL in a fresh database of its own."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from homeserver.storage.engines import Engine, PostgresEngine, SqliteEngine
from tests.support.server import TestServer

POSTGRES_DSN = os.environ.get("HS_TEST_POSTGRES")


def pytest_sessionstart(session: pytest.Session) -> None:
    """In CI, PostgreSQL is required: fail at once, never skip, if it is missing."""
    if os.environ.get("CI") and not POSTGRES_DSN:
        raise pytest.UsageError("CI=true but HS_TEST_POSTGRES is not set")
    if POSTGRES_DSN:
        try:
            _admin_connection().close()
        except Exception as exc:  # noqa: BLE001 - any failure is fatal here
            raise pytest.UsageError(
                f"HS_TEST_POSTGRES is set but PostgreSQL cannot be reached: {exc}"
            ) from None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "engine_name" in metafunc.fixturenames:
        engines = ["sqlite"] + (["postgres"] if POSTGRES_DSN else [])
        metafunc.parametrize("engine_name", engines)


def _admin_connection() -> Any:
    import psycopg2

    conn = psycopg2.connect(POSTGRES_DSN)
    conn.autocommit = True
    return conn


@pytest.fixture
def make_engine(engine_name: str, tmp_path: Any) -> Iterator[Callable[[], Engine]]:
    """Makes database engines on a fresh database that is dropped afterwards."""
    created: list[str] = []

    def make() -> Engine:
        if engine_name == "sqlite":
            return SqliteEngine(str(tmp_path / f"hs-{uuid.uuid4().hex[:8]}.db"))
        name = f"hs_test_{uuid.uuid4().hex[:12]}"
        conn = _admin_connection()
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        conn.close()
        created.append(name)
        return PostgresEngine(f"{POSTGRES_DSN} dbname={name}")

    yield make
    if created:
        conn = _admin_connection()
        with conn.cursor() as cur:
            for name in created:
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()


@pytest.fixture
def make_server(
    make_engine: Callable[[], Engine], tmp_path: Any
) -> Iterator[Callable[..., TestServer]]:
    """Builds in-process test servers with config overrides."""
    servers: list[TestServer] = []

    def make(overrides: dict[str, Any] | None = None) -> TestServer:
        server = TestServer(make_engine(), overrides, tmp_path)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.db.close()


@pytest.fixture
def server(make_server: Callable[..., TestServer]) -> TestServer:
    """A default in-process test server."""
    return make_server()
