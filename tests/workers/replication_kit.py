"""Two processes of one deployment in one test process: main and a client
reader, on one PostgreSQL database and the machine's Redis (a key prefix of
the test's own). Their Redis reader threads are real; what they hand to the
reactor waits in a queue the test pumps (``settle``), so each test decides
when replication is applied.
"""

from __future__ import annotations

import os
import queue
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from twisted.internet.testing import MemoryReactorClock

from homeserver.composition.workers import BusIO
from homeserver.storage.database import inline_runner
from homeserver.storage.engines import PostgresEngine
from tests.conftest import POSTGRES_DSN, postgres_databases
from tests.support.redis_keys import redis_prefix  # noqa: F401 - fixture
from tests.support.server import TestServer

READER = "reader1"


def require_postgres() -> None:
    """Worker tests share one PostgreSQL database between processes."""
    if not POSTGRES_DSN:
        if os.environ.get("CI"):
            pytest.fail("HS_TEST_POSTGRES is not set")
        pytest.skip("worker tests need PostgreSQL (HS_TEST_POSTGRES)")


class HandOffs:
    """What the reader threads hand to the reactor, in order."""

    def __init__(self) -> None:
        self.queue: queue.Queue[tuple[Callable[..., Any], tuple[Any, ...]]] = (
            queue.Queue()
        )

    def hand_off(self, fn: Callable[..., Any], *args: Any) -> None:
        self.queue.put((fn, args))


class Deployment:
    """main + reader1 over one database and one Redis prefix."""

    def __init__(
        self,
        request: pytest.FixtureRequest,
        tmp_path: Path,
        prefix: str,
        redis_url: str | None = None,
    ) -> None:
        require_postgres()
        self.databases = postgres_databases(request.config)
        self.db_name = self.databases.create()
        self.reactor = MemoryReactorClock()
        self.hand_offs = HandOffs()
        self.prefix = prefix
        self.overrides = {
            "workers": {
                "redis_url": redis_url
                or os.environ.get("HS_TEST_REDIS", "redis://127.0.0.1:6379/0"),
                "redis_prefix": prefix,
                "instances": [{"name": READER, "role": "client_reader", "port": 18101}],
            }
        }
        self.tmp_path = tmp_path
        self.servers: list[TestServer] = []
        self.main = self.start("main")
        self.reader = self.start(READER)

    def start(self, name: str) -> TestServer:
        """Start process ``name`` (again, after ``stop``)."""
        server = TestServer(
            PostgresEngine(self.databases.dsn(self.db_name)),
            self.overrides,
            self.tmp_path,
            reactor=self.reactor,
            worker_name=name,
            bus_io=BusIO(hand_off=self.hand_offs.hand_off, runner=inline_runner),
        )
        self.servers.append(server)
        return server

    def stop(self, server: TestServer) -> None:
        """Stop a process (its Redis connections and database)."""
        server.hs.workers.replication.stop()
        server.db.close()
        self.servers.remove(server)

    def settle(self, until: Callable[[], bool], timeout: float = 10.0) -> None:
        """Apply what the reader threads hand over until ``until()``."""
        deadline = time.monotonic() + timeout
        while not until():
            remaining = deadline - time.monotonic()
            assert remaining > 0, "replication did not settle"
            try:
                fn, args = self.hand_offs.queue.get(timeout=min(remaining, 0.1))
            except queue.Empty:
                # Nothing handed over: let retry timers (a publish that
                # failed while Redis was away) run.
                self.reactor.advance(0.1)
                continue
            fn(*args)
            self.reactor.advance(0)

    def caught_up(self, stream: str = "events") -> Callable[[], bool]:
        """Whether the reader's ``stream`` position is main's."""

        def check() -> bool:
            ours = self.main.hs.core.streams.sync_positions()[stream]
            return self.reader.hs.core.streams.sync_positions()[stream] == ours

        return check

    def close(self) -> None:
        for server in list(self.servers):
            self.stop(server)
        self.databases.drop(self.db_name)


def kill_connections(client: redis.Redis, name: str) -> int:
    """Kill the Redis connections named ``name`` (CLIENT KILL by ID)."""
    killed = 0
    for info in client.client_list():
        if info.get("name") == name:
            killed += client.client_kill_filter(_id=info["id"])
    return killed


@pytest.fixture
def deployment(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    redis_prefix: tuple[redis.Redis, str],  # noqa: F811
) -> Iterator[Deployment]:
    """main and reader1, torn down after the test."""
    _client, prefix = redis_prefix
    started = Deployment(request, tmp_path, prefix)
    yield started
    started.close()
