"""Several processes of one worker deployment, in-process: a TestServer per
process on one fake reactor and one database, as ``python -m homeserver
--worker NAME`` would run them.

What crosses between the processes goes through their real interfaces: the
database they share, the internal HTTP API (``LoopbackPoster`` writes each
``/_chatly/replication/...`` call as raw HTTP into the target's site, with
the deployment's secret) and the replicated positions.
"""

from __future__ import annotations

import json
import queue
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from twisted.internet import defer
from twisted.internet.testing import MemoryReactorClock

from homeserver.composition.workers import BusIO
from homeserver.errors import MatrixError
from homeserver.storage.database import inline_runner
from homeserver.storage.engines import Engine
from homeserver.types import JsonDict
from tests.appservices.kit import AsHarness
from tests.support.redis_keys import REDIS_URL
from tests.support.server import TestServer
from tests.workers.replication_kit import HandOffs

REPLICATION = "/_chatly/replication/"
SENDERS = [
    {"name": "sender1", "role": "federation_sender", "port": 18111},
    {"name": "sender2", "role": "federation_sender", "port": 18112},
]
AS_WORKER = [{"name": "as1", "role": "appservice", "port": 18121}]
# A safety net for a broken test, never an assertion about timing.
SAFETY_NET_S = 30.0


def workers_config(
    instances: list[dict[str, Any]], prefix: str | None = None
) -> dict[str, Any]:
    """The ``workers`` section of a deployment (its own Redis key prefix)."""
    return {
        "workers": {
            "redis_url": REDIS_URL,
            "redis_prefix": prefix or f"chatly-test-{secrets.token_hex(4)}",
            "instances": instances,
        }
    }


class LoopbackPoster:
    """The internal client of one process: POSTs to another process's
    replication endpoint through that TestServer's HTTP site. Calls are
    delivered by ``Deployment.advance``, outside the reactor turn that made
    them (as a real connection would)."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        self.calls: list[tuple[str, str, JsonDict]] = []

    async def post(self, instance: str, endpoint: str, body: JsonDict) -> JsonDict:
        self.calls.append((instance, endpoint, body))
        answer: defer.Deferred[JsonDict] = defer.Deferred()
        self.deployment.in_flight.append((instance, endpoint, body, answer))
        return await answer


class Deployment:
    """Main and its workers over one database and one fake reactor.

    Args:
        engine: the shared database.
        data_dir: the shared data directory (one replication secret).
        instances: ``workers.instances``.
        overrides: more config for every process (``workers`` keys are
            added to the deployment's own section, e.g. ``stream_writers``).
        transports: process name -> its outbound federation transport.
        kwargs: process name -> more TestServer arguments.
        redis_prefix: replicate over the test's Redis under this prefix (the
            database must be PostgreSQL); None: no replication (what crosses
            is the database and the internal API).
    """

    def __init__(
        self,
        engine: Engine,
        data_dir: Path,
        instances: list[dict[str, Any]],
        overrides: dict[str, Any] | None = None,
        transports: dict[str, Any] | None = None,
        kwargs: dict[str, dict[str, Any]] | None = None,
        redis_prefix: str | None = None,
    ) -> None:
        self.reactor = MemoryReactorClock()
        # Not at the epoch: a failure at time 0 would look like no failure.
        self.reactor.advance(1_000_000)
        self.engine = engine
        self.data_dir = data_dir
        workers = workers_config(instances, redis_prefix)
        workers["workers"].update((overrides or {}).get("workers", {}))
        self.config = {**(overrides or {}), **workers}
        self.hand_offs = HandOffs() if redis_prefix else None
        self.kwargs = kwargs or {}
        self.servers: dict[str, TestServer] = {}
        self.in_flight: list[tuple[str, str, JsonDict, defer.Deferred[JsonDict]]] = []
        for name in ["main", *(i["name"] for i in instances)]:
            self.start(name, (transports or {}).get(name))
        self.secret = (data_dir / "replication.secret").read_text().strip()

    def start(self, name: str, transport: Any = None) -> TestServer:
        """Start process ``name`` (again: a restart, on the same database)."""
        server = TestServer(
            self.engine,
            self.config,
            self.data_dir,
            reactor=self.reactor,
            federation_transport=transport,
            worker_name=name,
            bus_io=None
            if self.hand_offs is None
            else BusIO(hand_off=self.hand_offs.hand_off, runner=inline_runner),
            **self.kwargs.get(name, {}),
        )
        relay = server.hs.duties.relay
        assert relay is not None
        relay.client = poster = LoopbackPoster(self)
        # The stream writes' remote ports share the process's internal client.
        client = server.hs.workers.client
        assert client is not None
        client.post = poster.post  # type: ignore[method-assign]
        self.servers[name] = server
        return server

    def stop(self, name: str) -> None:
        """Stop process ``name`` (its replication, timers and queues)."""
        old = self.servers.pop(name)
        old.get_success(old.hs.shutdown())
        old.hs.federation.stop()
        old.db.close()

    def restart(self, name: str, transport: Any = None) -> TestServer:
        """Stop process ``name`` and start it again."""
        self.stop(name)
        return self.start(name, transport)

    @property
    def main(self) -> TestServer:
        return self.servers["main"]

    def __getitem__(self, name: str) -> TestServer:
        return self.servers[name]

    def advance(self, seconds: float = 0) -> None:
        """Run what is due on the shared reactor, and deliver the internal
        calls it makes until there are none."""
        self.reactor.advance(seconds)
        for _ in range(20):
            if not self.deliver():
                return
            self.reactor.advance(0)
        raise AssertionError("internal calls never stop")

    def pump(self, until: Callable[[], bool], real: Any = None) -> None:
        """Apply replication as the reader threads hand it over, deliver the
        internal calls and run the reactors (``real``: a real one, for
        outbound HTTP to a local server) until ``until()``."""
        deadline = time.monotonic() + SAFETY_NET_S
        while not until():
            assert time.monotonic() < deadline, "the condition never held"
            self._apply_hand_offs(0.005 if real is None else 0)
            if real is not None:
                real.iterate(0.005)
            self.advance()

    def _apply_hand_offs(self, wait_s: float) -> None:
        if self.hand_offs is None:
            return
        waiting = self.hand_offs.queue
        try:
            fn, args = waiting.get(timeout=wait_s) if wait_s else waiting.get_nowait()
        except queue.Empty:
            return
        while True:
            fn(*args)
            self.reactor.advance(0)
            try:
                fn, args = waiting.get_nowait()
            except queue.Empty:
                return

    def deliver(self) -> bool:
        """Deliver the internal calls made so far; whether there were any."""
        calls, self.in_flight = self.in_flight, []
        for instance, endpoint, body, answer in calls:
            answer.callback(self._deliver(instance, endpoint, body))
        return bool(calls)

    def _deliver(self, instance: str, endpoint: str, body: JsonDict) -> JsonDict:
        response = self.servers[instance].request(
            "POST",
            REPLICATION + endpoint,
            json.loads(json.dumps(body)),
            headers={"Authorization": f"Bearer {self.secret}"},
        )
        if response.code != 200:
            raise MatrixError(response.code, str(response.json), "M_UNKNOWN")
        result: JsonDict = response.json
        return result

    def close(self) -> None:
        for server in self.servers.values():
            server.hs.workers.replication.stop()
            server.hs.pushers.stop()
            server.hs.federation.stop()
            server.db.close()


def appservice_deployment(
    make: Callable[..., Deployment], **registration: Any
) -> tuple[AsHarness, Deployment]:
    """A deployment of main and an ``appservice`` worker (``make``: the
    ``make_deployment`` fixture), and a fake AS registered on both, for
    users ``@irc_*`` (``registration``: more of its registration)."""
    made: list[Deployment] = []

    def build(overrides: dict[str, Any], appservice_http: Any) -> TestServer:
        client = {"appservice_http": appservice_http}
        deployment = make(
            AS_WORKER, overrides=overrides, kwargs={"main": client, "as1": client}
        )
        made.append(deployment)
        return deployment.main

    harness = AsHarness(build, users=(r"@irc_.*:test",), **registration)
    return harness, made[0]
