"""An in-process homeserver on a fake reactor, driven through real HTTP parsing.

Requests are written as raw HTTP/1.1 bytes into Twisted's HTTPChannel and the
raw response is parsed back, so tests exercise the same request path as a real
client, while the database runs inline and time is controlled by the test.
"""

from __future__ import annotations

import json
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import attrs
from signedjson.key import generate_signing_key
from twisted.internet import defer
from twisted.internet.address import IPv4Address
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.python.failure import Failure

from homeserver.api.http.site import HomeserverSite
from homeserver.composition import build_homeserver
from homeserver.config import parse_config
from homeserver.federation.errors import RequestSendFailed
from homeserver.storage.database import Database, inline_runner
from homeserver.storage.engines import Engine
from tests.support.client import User

SHARED_SECRET = "test-shared-secret"
TEST_SIGNING_KEY = generate_signing_key("test")


def test_config_dict(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """A config for tests: open registration, cheap hashing, no rate limits,
    legacy media routes not frozen."""
    config: dict[str, Any] = {
        "server": {"server_name": "test"},
        "registration": {
            "enable_registration": True,
            "registration_shared_secret": SHARED_SECRET,
        },
        "auth": {
            "password_hashing": {
                "argon2_time_cost": 1,
                "argon2_memory_cost_kib": 8,
                "argon2_parallelism": 1,
                "bcrypt_rounds": 4,
            }
        },
        "rate_limiting": {"enabled": False},
        # Synapse's default (on) freezes the legacy unauthenticated media
        # routes for new uploads; tests of those routes would each have to
        # turn it off, so the kit does, and tests/media/test_legacy_freeze.py
        # turns it on.
        "media": {"enable_authenticated_media": False},
    }
    for key, value in (overrides or {}).items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key] = _merge(config[key], value)
        else:
            config[key] = value
    return config


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


@attrs.frozen
class FakeResponse:
    """A parsed HTTP response."""

    code: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def parse_http_response(raw: bytes) -> FakeResponse:
    """Parse one raw HTTP/1.1 response with a Content-Length."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    code = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", len(body)))
    return FakeResponse(code, headers, body[:length])


class PendingRequest:
    """A request whose response may not have been written yet."""

    def __init__(self, transport: StringTransport, channel: Any) -> None:
        self.transport = transport
        self.channel = channel

    @property
    def done(self) -> bool:
        return bool(self.transport.value())

    def response(self) -> FakeResponse:
        value = self.transport.value()
        assert value, "no response was written"
        self.channel.connectionLost(None)
        return parse_http_response(value)

    def disconnect(self) -> None:
        """The client goes away before the answer."""
        self.channel.connectionLost(None)


class OfflineTransport:
    """The default outbound federation transport of test servers: every request
    fails at once as retriable, as if every other server were down."""

    async def get_json(self, destination: str, path: str, *a: Any, **k: Any) -> Any:
        raise RequestSendFailed(f"test server: no network to reach {destination}")

    async def put_json(self, destination: str, path: str, *a: Any, **k: Any) -> Any:
        raise RequestSendFailed(f"test server: no network to reach {destination}")

    async def post_json(self, destination: str, path: str, *a: Any, **k: Any) -> Any:
        raise RequestSendFailed(f"test server: no network to reach {destination}")


class TestServer:
    __test__ = False

    """A HomeServer plus helpers to call it over HTTP."""

    def __init__(
        self,
        engine: Engine,
        overrides: dict[str, Any] | None,
        data_dir: Path,
        *,
        signing_key: Any = None,
        reactor: MemoryReactorClock | None = None,
        federation_transport: Any = None,
        preview_http: Any = None,
        appservice_http: Any = None,
        plugin_http: Any = None,
        push_http: Any = None,
        identity_http: Any = None,
        worker_name: str = "main",
        bus_io: Any = None,
    ) -> None:
        # Servers of one test federation (tests/federation/pair.py) share a
        # reactor, so one clock drives them all.
        self.reactor = reactor or MemoryReactorClock()
        self.config = parse_config(test_config_dict(overrides))
        self.db = Database(engine, inline_runner)
        self.signing_key = signing_key or TEST_SIGNING_KEY
        self.hs = build_homeserver(
            config=self.config,
            data_dir=data_dir,
            reactor=self.reactor,
            db=self.db,
            blocking_runner=inline_runner,
            signing_key=self.signing_key,
            # Tests never reach the real network: outbound federation fails
            # unless a test federation (tests/federation/pair.py) is given.
            federation_transport=federation_transport or OfflineTransport(),
            # URL previews (when enabled) fetch through this client if given:
            # a real one on a real reactor (tests/media/preview_kit.py).
            preview_http=preview_http,
            # Requests to application services go through this client if
            # given (tests/appservices/kit.py); else the default guarded one.
            appservice_http=appservice_http,
            # Plugins' outbound requests (PluginAPI.http_request) likewise
            # (tests/plugins_shipped/test_webhooknotifier.py).
            plugin_http=plugin_http,
            # Requests to push gateways likewise (tests/push/pushers/kit.py).
            push_http=push_http,
            # Requests to identity servers likewise (tests/rooms/third_party/).
            identity_http=identity_http,
            # The process of a worker deployment (tests/workers/).
            worker_name=worker_name,
            # How its Redis bus reaches this thread (tests/workers/
            # replication_kit.py); without, a worker deployment's test
            # server does not replicate.
            bus_io=bus_io,
            replicate=bus_io is not None,
        )
        self.get_success(self.hs.setup())
        self.site = HomeserverSite(
            self.hs.build_resource(["client", "federation", "metrics"]),
            int(self.config.http.max_request_body_size),
            self.reactor,
            header_timeout=self.config.http.request_header_timeout / 1000,
            body_timeout=self.config.http.request_body_timeout / 1000,
            max_upload_size=int(self.config.media.max_upload_size),
            bodies_in_memory=self.config.media.storage.s3_only,
        )

    def get_success(
        self, awaitable: Coroutine[Any, Any, Any] | defer.Deferred[Any]
    ) -> Any:
        """Run an awaitable to completion on the fake reactor and return its result."""
        d = defer.ensureDeferred(awaitable)
        self.reactor.advance(0)
        results: list[Any] = []
        d.addBoth(results.append)
        assert results, "awaitable did not complete"
        if isinstance(results[0], Failure):
            results[0].raiseException()
        return results[0]

    def advance(self, seconds: float) -> None:
        """Move fake time forward, running timers due."""
        self.reactor.advance(seconds)

    def raw_request(self, raw: bytes, client_ip: str = "127.0.0.1") -> FakeResponse:
        """Send raw request bytes; return the parsed response."""
        pending = self.start_raw_request(raw, client_ip)
        assert pending.done, "no response was written"
        return pending.response()

    def start_raw_request(
        self, raw: bytes, client_ip: str = "127.0.0.1"
    ) -> PendingRequest:
        """Send raw request bytes without waiting for the answer (long-polls)."""
        transport = StringTransport(peerAddress=IPv4Address("TCP", client_ip, 12345))
        channel = self.site.buildProtocol(IPv4Address("TCP", client_ip, 12345))
        channel.makeConnection(transport)
        channel.dataReceived(raw)
        self.reactor.advance(0)
        return PendingRequest(transport, channel)

    def start_request(
        self, method: str, path: str, token: str | None = None
    ) -> PendingRequest:
        """Start a bodiless request (e.g. a long-polling /sync)."""
        head = f"{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n"
        if token is not None:
            head += f"Authorization: Bearer {token}\r\n"
        return self.start_raw_request(head.encode("latin-1") + b"\r\n")

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        client_ip: str = "127.0.0.1",
    ) -> FakeResponse:
        """Send a request with an optional JSON (or raw bytes) body."""
        pending = self.start_json_request(method, path, body, token, headers, client_ip)
        assert pending.done, "no response was written"
        return pending.response()

    def start_json_request(
        self,
        method: str,
        path: str,
        body: Any = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        client_ip: str = "127.0.0.1",
    ) -> PendingRequest:
        """``request`` without waiting for the answer (one that needs another
        reactor to run: a server on loopback it calls)."""
        if body is None:
            data = b""
        elif isinstance(body, bytes):
            data = body
        else:
            data = json.dumps(body).encode()
        all_headers = {"Host": "localhost", "Content-Length": str(len(data))}
        if data and not isinstance(body, bytes):
            all_headers["Content-Type"] = "application/json"
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        all_headers.update(headers or {})
        head = f"{method} {path} HTTP/1.1\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in all_headers.items()
        )
        raw = head.encode("latin-1") + b"\r\n" + data
        return self.start_raw_request(raw, client_ip)

    def register(
        self, localpart: str, password: str = "password123", admin: bool = False
    ) -> tuple[str, str]:
        """Create a user directly and log in over HTTP; returns (user_id, access_token)."""
        user = self.user(localpart, password, admin)
        return user.user_id, user.token

    def user(
        self, localpart: str, password: str = "password123", admin: bool = False
    ) -> User:
        """Create a user directly and log in over HTTP; the logged-in ``User``."""
        self.get_success(
            self.hs.accounts.accounts.register(localpart, password, admin=admin)
        )
        return self.login(localpart, password)

    def login(
        self,
        localpart: str,
        password: str = "password123",
        device_id: str | None = None,
    ) -> User:
        """Log an existing user in over HTTP (a new device, or ``device_id``)."""
        body = {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": localpart},
            "password": password,
        }
        if device_id is not None:
            body["device_id"] = device_id
        resp = self.request("POST", "/_matrix/client/v3/login", body)
        assert resp.code == 200, resp.json
        return User(
            self,
            resp.json["user_id"],
            resp.json["access_token"],
            resp.json["device_id"],
        )
