"""An in-process federation: several TestServers that talk to each other over
real (raw) HTTP, with real X-Matrix signatures, on one fake reactor.

Each server gets its own name, signing key and database, and a
``LoopbackTransport`` as ``hs.federation.transport``: every outbound federation
request is written as raw HTTP/1.1 bytes into the destination server's HTTP
channel (exactly like ``TestServer.request``), signed by the origin's key with
``homeserver.federation.transport.auth.sign_request``, and the answer is parsed back into
JSON or raised as ``HttpResponseError``. The key ring fetches keys through the
same transport, so inbound authentication checks real signatures against keys
fetched over loopback. Nested requests work (B, while handling A's request,
fetches A's keys): responses are delivered on the shared reactor, which every
``get_success``/``request`` call pumps.

Usage (fixtures from tests/federation/conftest.py)::

    def test_something(pair: FederationPair) -> None:
        a, b = pair.a, pair.b                 # "a.test" and "b.test"
        body = a.get_success(
            a.hs.federation.transport.get_json("b.test", "/_matrix/federation/v1/version")
        )
        # or send a signed request by hand, as a.test, into b.test:
        resp = pair.signed_request(a, b, "GET", "/_matrix/federation/v1/version")

    def test_three(make_federation: Callable[..., Federation]) -> None:
        fed = make_federation()
        a = fed.add_server("a.test", {"federation": {"domain_whitelist": ["b.test"]}})
        b = fed.add_server("b.test")

``fed.latency["b.test"] = 5`` delays every request to b.test by 5 seconds of
the shared clock (so that requests overlap; ``fed.pump(5)`` lets them through).
``fed.set_reachable("b.test", False)`` makes requests to b.test fail with
``RequestSendFailed`` (a server that is down; add ``from_server="a.test"`` to
cut only the link from a.test); ``fed.requests`` records every
request sent as ``(origin, destination, method, uri)``. Requests to an unknown
server name fail with ``RequestSendFailed`` as well.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

from signedjson.key import generate_signing_key
from signedjson.types import SigningKey
from twisted.internet import defer
from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.task import deferLater
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.python.failure import Failure

from homeserver.federation.errors import (
    HttpResponseError,
    RequestSendFailed,
    ResponseTooLarge,
)
from homeserver.federation.interfaces import Query, RawResponse
from homeserver.federation.transport.auth import sign_request
from homeserver.federation.transport.json_requests import JsonRequests, request_uri
from tests.support.server import FakeResponse, TestServer, parse_http_response


class _ResponseTransport(StringTransport):
    """Collects a response; the channel closes it when the response is done
    (the request says ``Connection: close``)."""

    def __init__(self, on_closed: defer.Deferred[bytes], reactor: Any) -> None:
        super().__init__(peerAddress=IPv4Address("TCP", "127.0.0.1", 43210))
        self._on_closed = on_closed
        self._reactor = reactor

    def loseConnection(self) -> None:  # noqa: N802 - Twisted interface
        if self.disconnecting:
            return
        super().loseConnection()
        # Deliver on the next reactor turn, not inside the server's finish().
        self._reactor.callLater(0, self._deliver)

    def _deliver(self) -> None:
        if not self._on_closed.called:
            self._on_closed.callback(self.value())


class LoopbackTransport(JsonRequests):
    """``FederationTransport`` for one origin server of a ``Federation``."""

    def __init__(self, federation: Federation, origin: str, key: SigningKey) -> None:
        self.federation = federation
        self.origin = origin
        self.key = key

    async def request(
        self,
        method: str,
        destination: str,
        path: str,
        body: Any = None,
        query: Query | None = None,
        *,
        timeout_ms: int | None = None,
        signed: bool = True,
    ) -> Any:
        """Send one request; the parsed JSON answer of a 2xx response.

        Raises:
            RequestSendFailed: the destination is unknown or unreachable, or
                did not answer within ``timeout_ms``.
            HttpResponseError: it answered with another status.
        """
        response = await self._exchange(
            method, destination, path, body, query, timeout_ms, signed
        )
        if 200 <= response.code < 300:
            return response.json
        raise _error(response)

    async def get_bytes(
        self,
        destination: str,
        path: str,
        query: Query | None = None,
        *,
        max_bytes: int,
        timeout_ms: int | None = None,
    ) -> RawResponse:
        """``MediaTransport``: a signed GET whose 2xx answer is bytes."""
        response = await self._exchange(
            "GET", destination, path, None, query, timeout_ms, True
        )
        if len(response.body) > max_bytes:
            raise ResponseTooLarge(max_bytes)
        if 200 <= response.code < 300:
            return RawResponse(response.code, response.headers, response.body)
        raise _error(response)

    async def _exchange(
        self,
        method: str,
        destination: str,
        path: str,
        body: Any,
        query: Query | None,
        timeout_ms: int | None,
        signed: bool,
    ) -> FakeResponse:
        uri = request_uri(path, query)
        self.federation.requests.append((self.origin, destination, method, uri))
        server = self.federation.servers.get(destination)
        if server is None or self.federation.is_blocked(self.origin, destination):
            raise RequestSendFailed(f"cannot reach {destination}")
        headers = {}
        if signed:
            headers["Authorization"] = sign_request(
                self.key, method, uri, self.origin, destination, body
            )
        raw = build_raw_request(method, uri, destination, body, headers)
        latency = self.federation.latency.get(destination)
        if latency:
            await deferLater(self.federation.reactor, latency)
        return await self.federation.deliver(server, raw, timeout_ms)


def _error(response: FakeResponse) -> HttpResponseError:
    try:
        error_body = response.json
    except ValueError:
        error_body = None
    return HttpResponseError(response.code, error_body)


def build_raw_request(
    method: str, uri: str, host: str, body: Any, headers: dict[str, str]
) -> bytes:
    """Raw HTTP/1.1 request bytes with a JSON body (if any)."""
    data = b"" if body is None else json.dumps(body).encode()
    all_headers = {
        "Host": host,
        "Content-Length": str(len(data)),
        "Connection": "close",
        "User-Agent": "Chatly-loopback",
    }
    if body is not None:
        all_headers["Content-Type"] = "application/json"
    all_headers.update(headers)
    head = f"{method} {uri} HTTP/1.1\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in all_headers.items()
    )
    return head.encode("latin-1") + b"\r\n" + data


class Federation:
    """Test servers on one fake reactor, reachable from each other by name.

    Args:
        make_engine: makes a fresh database engine for each server.
        data_dir: each server gets a subdirectory.
    """

    def __init__(self, make_engine: Any, data_dir: Path) -> None:
        self.reactor = MemoryReactorClock()
        self.make_engine = make_engine
        self.data_dir = data_dir
        self.servers: dict[str, TestServer] = {}
        self.unreachable: set[str] = set()
        self.blocked: set[tuple[str, str]] = set()
        self.requests: list[tuple[str, str, str, str]] = []
        self.latency: dict[str, float] = {}

    def add_server(
        self,
        server_name: str,
        overrides: dict[str, Any] | None = None,
        signing_key: SigningKey | None = None,
        **server_kwargs: Any,
    ) -> TestServer:
        """Build a server named ``server_name`` with its own key and database
        (``server_kwargs``: more ``TestServer`` arguments, e.g. a client)."""
        key = signing_key or generate_signing_key("k1")
        config: dict[str, Any] = {"server": {"server_name": server_name}}
        for section, values in (overrides or {}).items():
            if isinstance(values, dict):
                config.setdefault(section, {}).update(values)
            else:
                config[section] = values
        data_dir = self.data_dir / server_name.replace(":", "_")
        data_dir.mkdir(parents=True, exist_ok=True)
        server = TestServer(
            self.make_engine(),
            config,
            data_dir,
            signing_key=key,
            reactor=self.reactor,
            federation_transport=LoopbackTransport(self, server_name, key),
            **server_kwargs,
        )
        self.servers[server_name] = server
        return server

    def set_reachable(
        self, server_name: str, reachable: bool, from_server: str | None = None
    ) -> None:
        """Take a server off the network (requests to it fail) or back on;
        with ``from_server``, only for requests from that server."""
        if from_server is not None:
            link = (from_server, server_name)
            if reachable:
                self.blocked.discard(link)
            else:
                self.blocked.add(link)
        elif reachable:
            self.unreachable.discard(server_name)
        else:
            self.unreachable.add(server_name)

    def is_blocked(self, origin: str, destination: str) -> bool:
        """Whether requests from ``origin`` to ``destination`` fail."""
        return destination in self.unreachable or (origin, destination) in self.blocked

    async def deliver(
        self, server: TestServer, raw: bytes, timeout_ms: int | None
    ) -> FakeResponse:
        """Write a raw request into ``server``; the parsed response."""
        done: defer.Deferred[bytes] = defer.Deferred()
        transport = _ResponseTransport(done, self.reactor)
        address = IPv4Address("TCP", "127.0.0.1", 43210)
        channel = server.site.buildProtocol(address)
        channel.makeConnection(transport)
        timer = None
        if timeout_ms is not None:
            timer = self.reactor.callLater(
                timeout_ms / 1000,
                lambda: (
                    done.called
                    or done.errback(Failure(RequestSendFailed("request timed out")))
                ),
            )
        channel.dataReceived(raw)
        try:
            value = await done
        finally:
            if timer is not None and timer.active():
                timer.cancel()
            channel.connectionLost(Failure(ConnectionDone()))
        return parse_http_response(value)

    def signed_request(
        self,
        origin: TestServer,
        destination: TestServer,
        method: str,
        uri: str,
        body: Any = None,
        *,
        key: SigningKey | None = None,
        auth_destination: str | None = None,
    ) -> FakeResponse:
        """Send a request signed as ``origin`` into ``destination`` through
        ``TestServer.request``; ``key`` and ``auth_destination`` override what
        is signed with and which destination the signature names."""
        origin_name = origin.config.server.server_name
        target = auth_destination or destination.config.server.server_name
        header = sign_request(
            key or origin.signing_key, method, uri, origin_name, target, body
        )
        return destination.request(method, uri, body, headers={"Authorization": header})

    def pump(self, seconds: float = 0.0) -> None:
        """Advance the shared clock, running everything due."""
        self.reactor.advance(seconds)

    def close(self) -> None:
        """Close every server's database."""
        for server in self.servers.values():
            db = getattr(server, "db", None)  # stand-ins have none
            if db is not None:
                db.close()


class FederationPair(Federation):
    """Two servers, ``a`` ("a.test") and ``b`` ("b.test")."""

    def __init__(
        self,
        make_engine: Any,
        data_dir: Path,
        overrides_a: dict[str, Any] | None = None,
        overrides_b: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(make_engine, data_dir)
        self.a = self.add_server("a.test", overrides_a)
        self.b = self.add_server("b.test", overrides_b)


def add_test_endpoint(server: TestServer, endpoint: Any) -> None:
    """Route ``endpoint`` on ``server``'s HTTP listener (e.g. a probe that
    calls the real federation authenticator)."""
    root: Any = server.site.resource
    router = getattr(root, "router", None) or root.http.router
    router.add_endpoint(endpoint)


def q(value: str) -> str:
    """``value`` percent-encoded as one path segment (room and event IDs)."""
    return quote(value, safe="")
