"""A worker deployment in-process whose internal calls are real HTTP.

``HttpDeployment`` is ``Deployment`` (tests/workers/duties_kit.py: a
TestServer per process over one database and one fake reactor) with each
process's site also listening on a loopback TCP port of a real reactor, and
each process's ``InternalClient`` (the production one: treq, bearer secret,
retries) posting to those ports. A process can stop listening (a writer that
is down) and listen again on the same port (restarted). Given a Redis key
prefix, the processes also replicate over the machine's Redis: their reader
threads hand entries to the kit's queue that ``pump`` applies.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.selectreactor import SelectReactor
from twisted.web.client import HTTPConnectionPool

from homeserver.workers.internal_client import direct_http
from tests.support.server import FakeResponse, TestServer
from tests.workers.duties_kit import Deployment


class HttpDeployment(Deployment):
    """Main and its workers, talking internal HTTP over loopback."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.real = SelectReactor()
        self.listening: dict[str, Any] = {}
        self.ports: dict[str, int] = {}
        super().__init__(*args, **kwargs)

    def start(self, name: str, transport: Any = None) -> TestServer:
        server = super().start(name, transport)
        client = server.hs.workers.client
        assert client is not None
        # Back to the class's own post (the loopback kit replaced it).
        vars(client).pop("post", None)
        client.reactor = self.real
        # No kept-alive connections: a writer that stops listening is down.
        pool = HTTPConnectionPool(self.real, persistent=False)
        client.http = direct_http(self.real, pool)
        client.url_of = self.url_of
        client.first_delay_s = 0.01
        relay = server.hs.duties.relay
        assert relay is not None
        relay.client = client
        self.listen(name)
        return server

    def listen(self, name: str) -> None:
        """Serve process ``name`` on its loopback port (a new one the first
        time, the same one after ``stop_listening``)."""
        port = self.real.listenTCP(
            self.ports.get(name, 0), self.servers[name].site, interface="127.0.0.1"
        )
        self.listening[name] = port
        self.ports[name] = port.getHost().port

    def stop_listening(self, name: str) -> None:
        """Process ``name`` is down: its port refuses connections."""
        done: list[Any] = []
        self.listening.pop(name).stopListening().addBoth(done.append)
        self.pump(lambda: bool(done))

    def url_of(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def pump(self, until: Any, real: Any = None) -> None:
        """Run the real reactor (and the fake one) until ``until()``,
        applying what replication hands over meanwhile."""
        super().pump(until, real or self.real)

    def call(
        self,
        name: str,
        method: str,
        path: str,
        body: Any = None,
        token: str | None = None,
    ) -> FakeResponse:
        """A client request to process ``name``, run until answered (its
        internal calls travel over loopback meanwhile)."""
        pending = self.servers[name].start_json_request(method, path, body, token)
        self.pump(lambda: pending.done)
        return pending.response()

    def close(self) -> None:
        for name in list(self.listening):
            self.stop_listening(name)
        super().close()
