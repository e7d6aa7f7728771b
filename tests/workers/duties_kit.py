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
import secrets
from pathlib import Path
from typing import Any

from twisted.internet import defer
from twisted.internet.testing import MemoryReactorClock

from homeserver.errors import MatrixError
from homeserver.storage.engines import Engine
from homeserver.types import JsonDict
from tests.support.server import TestServer

REPLICATION = "/_chatly/replication/"


def workers_config(instances: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``workers`` section of a deployment (its own Redis key prefix)."""
    return {
        "workers": {
            "redis_url": "redis://127.0.0.1:6379/0",
            "redis_prefix": f"chatly-test-{secrets.token_hex(4)}",
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
        overrides: more config for every process.
        transports: process name -> its outbound federation transport.
        kwargs: process name -> more TestServer arguments.
    """

    def __init__(
        self,
        engine: Engine,
        data_dir: Path,
        instances: list[dict[str, Any]],
        overrides: dict[str, Any] | None = None,
        transports: dict[str, Any] | None = None,
        kwargs: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        self.reactor = MemoryReactorClock()
        # Not at the epoch: a failure at time 0 would look like no failure.
        self.reactor.advance(1_000_000)
        self.engine = engine
        self.data_dir = data_dir
        self.config = {**(overrides or {}), **workers_config(instances)}
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
            **self.kwargs.get(name, {}),
        )
        relay = server.hs.duties.relay
        assert relay is not None
        relay.client = LoopbackPoster(self)
        self.servers[name] = server
        return server

    def restart(self, name: str, transport: Any = None) -> TestServer:
        """Stop process ``name`` (its timers and queues) and start it again."""
        old = self.servers[name]
        old.hs.federation.stop()
        old.hs.pushers.stop()
        old.db.close()
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
            server.hs.pushers.stop()
            server.hs.federation.stop()
            server.db.close()
