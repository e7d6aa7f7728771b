"""Fixtures: every test that uses ``server`` runs on SQLite and, when
HS_TEST_POSTGRES is set, again on PostgreSQL, each time in a database of its
own: a copy of a template migrated once per run (tests/databases.py). Tests
marked ``empty_database`` get a database with no schema instead.

The suite runs in parallel under pytest-xdist (``-n`` in pyproject.toml); the
xdist controller starts the run and passes its ID to the workers."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from homeserver.storage.engines import Engine, PostgresEngine, SqliteEngine
from tests.databases import PostgresDatabases, RunLock, SqliteTemplate, new_run_id
from tests.support.server import TestServer

POSTGRES_DSN = os.environ.get("HS_TEST_POSTGRES")
# One engine, for a real-process test whose SQL the in-process tests already
# run on both (a module sets ENGINES = ONE_ENGINE): PostgreSQL when there is
# one, as in CI and in production, else SQLite.
ONE_ENGINE = ("postgres",) if POSTGRES_DSN else ("sqlite",)

_RUN_ID = pytest.StashKey[str]()
_RUN_LOCK = pytest.StashKey[RunLock]()
_postgres: PostgresDatabases | None = None


def pytest_configure(config: pytest.Config) -> None:
    workerinput = getattr(config, "workerinput", None)
    config.stash[_RUN_ID] = (
        workerinput["chatly_run_id"] if workerinput else new_run_id()
    )


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: one worker more than the CPUs this process may use. The
    real-process tiers spend much of their time waiting on servers, clients
    and PostgreSQL, which leaves a core idle with one worker per core."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return cpus + 1


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist: every worker uses the controller's run ID (and so its template)."""
    node.workerinput["chatly_run_id"] = node.config.stash[_RUN_ID]


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
        if not hasattr(session.config, "workerinput"):
            # This process starts the run: hold its lock, clear killed runs.
            lock = RunLock(postgres_databases(session.config))
            lock.drop_leftovers()
            session.config.stash[_RUN_LOCK] = lock


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Drop this process's test databases, and the template if it started the
    run (xdist workers finish before their controller)."""
    if _postgres is None:
        return
    try:
        _postgres.wait_for_drops()
        lock = session.config.stash.get(_RUN_LOCK, None)
        if lock is not None:
            lock.finish()
    finally:
        _postgres.close()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "engine_name" in metafunc.fixturenames:
        engines = ["sqlite"] + (["postgres"] if POSTGRES_DSN else [])
        # A module whose tests only mean something on PostgreSQL (several
        # processes sharing one database) says ENGINES = ("postgres",): its
        # tests then fail in CI, or skip elsewhere, without HS_TEST_POSTGRES.
        engines = list(getattr(metafunc.module, "ENGINES", engines))
        metafunc.parametrize("engine_name", engines)


def _admin_connection() -> Any:
    import psycopg2

    conn = psycopg2.connect(POSTGRES_DSN)
    conn.autocommit = True
    return conn


def postgres_databases(config: pytest.Config) -> PostgresDatabases:
    """This process's PostgreSQL test databases (HS_TEST_POSTGRES must be set)."""
    global _postgres
    assert POSTGRES_DSN, "HS_TEST_POSTGRES is not set"
    if _postgres is None:
        _postgres = PostgresDatabases(POSTGRES_DSN, config.stash[_RUN_ID])
    return _postgres


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> SqliteTemplate:
    return SqliteTemplate(tmp_path_factory.getbasetemp() / "sqlite-template")


@pytest.fixture
def make_engine(
    engine_name: str,
    tmp_path: Any,
    request: pytest.FixtureRequest,
    sqlite_template: SqliteTemplate,
) -> Iterator[Callable[[], Engine]]:
    """Makes database engines, each on a database of its own, already migrated
    (dropped afterwards). Under the ``empty_database`` marker they are empty."""
    empty = request.node.get_closest_marker("empty_database") is not None
    created: list[str] = []

    def make() -> Engine:
        if engine_name == "sqlite":
            path = tmp_path / f"hs-{uuid.uuid4().hex[:8]}.db"
            if not empty:
                sqlite_template.copy_to(path)
            return SqliteEngine(str(path))
        databases = postgres_databases(request.config)
        name = databases.create(empty=empty)
        created.append(name)
        return PostgresEngine(databases.dsn(name))

    yield make
    for name in created:
        postgres_databases(request.config).drop(name)


@pytest.fixture
def make_server(
    make_engine: Callable[[], Engine], tmp_path: Any
) -> Iterator[Callable[..., TestServer]]:
    """Builds in-process test servers with config overrides."""
    servers: list[TestServer] = []

    def make(overrides: dict[str, Any] | None = None, **kwargs: Any) -> TestServer:
        server = TestServer(make_engine(), overrides, tmp_path, **kwargs)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.db.close()


@pytest.fixture
def server(make_server: Callable[..., TestServer]) -> TestServer:
    """A default in-process test server."""
    return make_server()
