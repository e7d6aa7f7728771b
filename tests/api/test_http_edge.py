"""The HTTP connection itself: request deadlines, the errors Twisted and
autobahn would answer without a Matrix body, form bodies, the listen backlog.
Driven on the fake reactor through a real HTTPChannel."""

from __future__ import annotations

import json
from typing import Any

import pytest
from twisted.internet import task
from twisted.internet.address import IPv4Address
from twisted.internet.testing import MemoryReactor, StringTransport

from homeserver.api.websocket.resource import UpgradeRoutingResource
from homeserver.app import listen
from tests.api.helpers import LOGIN, PASSWORD
from tests.harness import TestServer, parse_http_response

HEAD = b"POST /_matrix/client/v3/login HTTP/1.1\r\nHost: x\r\n"


class Connection:
    """One client connection into the test server's site."""

    def __init__(self, server: TestServer) -> None:
        self.server = server
        self.transport = StringTransport(
            peerAddress=IPv4Address("TCP", "127.0.0.1", 4321)
        )
        self.channel = server.site.buildProtocol(IPv4Address("TCP", "127.0.0.1", 1))
        self.channel.makeConnection(self.transport)

    def send(self, data: bytes) -> None:
        self.channel.dataReceived(data)
        self.server.advance(0)

    def trickle(self, data: bytes, every: float) -> None:
        """Send ``data`` one byte at a time, ``every`` seconds apart, until
        the connection is closed."""
        for byte in data:
            if self.closed:
                return
            self.send(bytes([byte]))
            self.server.advance(every)

    @property
    def closed(self) -> bool:
        return bool(self.transport.disconnecting or self.transport.disconnected)

    def response(self) -> Any:
        return parse_http_response(self.transport.value())


def matrix_error(raw: bytes) -> tuple[int, dict[str, Any]]:
    resp = parse_http_response(raw)
    assert resp.header("content-type") == "application/json", raw
    body = json.loads(resp.body)
    assert set(body) >= {"errcode", "error"}, body
    return resp.code, body


def test_trickled_headers_hit_the_header_deadline(server: TestServer) -> None:
    """One byte every 10 s restarts the idle timeout each time; the header
    deadline (30 s by default) still closes the connection."""
    conn = Connection(server)
    conn.trickle(HEAD + b"X-Pad: " + b"a" * 100, every=10)
    assert conn.closed
    assert server.reactor.seconds() <= 40


def test_a_trickled_body_gets_408(make_server: Any) -> None:
    server = make_server({"http": {"request_body_timeout": "20s"}})
    body = json.dumps({"type": "m.login.password", "pad": "x" * 100}).encode()
    conn = Connection(server)
    conn.send(HEAD + b"Content-Length: %d\r\n\r\n" % len(body))
    conn.trickle(body, every=5)
    assert conn.closed
    assert 20 <= server.reactor.seconds() <= 25
    code, error = matrix_error(conn.transport.value())
    assert (code, error["errcode"]) == (408, "M_UNKNOWN")


def test_deadlines_do_not_touch_a_request_being_handled(server: TestServer) -> None:
    """A request that arrived in full and takes long to answer (a long-poll)
    outlives both deadlines; a keep-alive connection's next request gets a
    fresh header deadline."""
    root = server.site.resource
    assert isinstance(root, UpgradeRoutingResource)

    async def slow(request: Any) -> dict[str, Any]:
        await task.deferLater(server.reactor, 100, lambda: None)
        return {}

    root.http.router.add(["/_test/slow"], {"GET": slow}, "Slow")
    conn = Connection(server)
    conn.send(b"GET /_test/slow HTTP/1.1\r\nHost: x\r\n\r\n")
    server.advance(95)
    assert not conn.closed
    assert conn.transport.value() == b""
    server.advance(5)
    assert parse_http_response(conn.transport.value()).code == 200
    conn.transport.clear()
    conn.send(b"GET /_matrix/client/versions HTTP/1.1\r\nHost: x\r\n")
    server.advance(29)
    assert not conn.closed
    server.advance(2)
    assert conn.closed


def test_an_idle_keep_alive_connection_has_no_header_deadline(
    server: TestServer,
) -> None:
    conn = Connection(server)
    conn.send(b"GET /_matrix/client/versions HTTP/1.1\r\nHost: x\r\n\r\n")
    server.advance(45)
    assert not conn.closed
    server.advance(20)  # Twisted's idle timeout (60 s) still applies
    assert conn.closed


@pytest.mark.parametrize(
    "raw",
    [
        b"GARBAGE\r\n\r\n",
        b"GET /_matrix/client/versions HTTP/1.1\r\nHost: x\r\nNo colon\r\n\r\n",
        b"GET /_matrix/client/versions HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
        b"POST /_matrix/client/v3/login HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
        b"\r\nzz\r\n",
        b"GET /_matrix/client/v3/rooms/\xff/state HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1\r\n" + b"X-H: v\r\n" * 600 + b"\r\n",
    ],
    ids=[
        "request-line",
        "header-without-colon",
        "content-length",
        "chunking",
        "raw-byte-in-path",
        "too-many-headers",
    ],
)
def test_malformed_requests_get_a_matrix_error(server: TestServer, raw: bytes) -> None:
    conn = Connection(server)
    conn.send(raw)
    code, error = matrix_error(conn.transport.value())
    assert code == 400
    assert error["errcode"] in ("M_UNKNOWN", "M_INVALID_PARAM")


def test_an_overlong_header_line_gets_a_matrix_error(server: TestServer) -> None:
    conn = Connection(server)
    conn.send(b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n")
    code, error = matrix_error(conn.transport.value())
    assert (code, error["errcode"]) == (431, "M_TOO_LARGE")
    assert conn.closed


@pytest.mark.parametrize(
    "content_type",
    [
        "multipart/form-data",
        "multipart/form-data; boundary=xyz",
        "application/x-www-form-urlencoded",
    ],
)
def test_bodies_are_never_parsed_as_forms(
    server: TestServer, content_type: str
) -> None:
    """Twisted would parse a form body (and answer a multipart one without a
    boundary with a bare 400); here the body is the endpoint's, as JSON."""
    server.get_success(server.hs.accounts.register("alice", PASSWORD))
    body = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": "alice"},
        "password": PASSWORD,
    }
    resp = server.request("POST", LOGIN, body, headers={"Content-Type": content_type})
    assert resp.code == 200, resp.body
    resp = server.request(
        "POST", LOGIN, b"a=b&c=d", headers={"Content-Type": content_type}
    )
    assert (resp.code, resp.json["errcode"]) == (400, "M_NOT_JSON")


def test_a_resource_that_raises_gets_a_matrix_500(
    server: TestServer, monkeypatch: Any
) -> None:
    """What Twisted would render as an HTML "Processing Failed" page."""
    root = server.site.resource

    def broken(request: Any) -> Any:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(root, "render", broken)
    resp = server.request("GET", "/_matrix/client/versions")
    assert resp.code == 500
    assert resp.json == {"errcode": "M_UNKNOWN", "error": "Internal server error"}


@pytest.mark.parametrize(
    "headers",
    [
        b"Upgrade: websocket\r\nConnection: Upgrade\r\n",
        b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n",
        b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 99\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
    ],
)
def test_a_failed_websocket_upgrade_gets_a_matrix_error(
    server: TestServer, headers: bytes
) -> None:
    """autobahn answers a bad upgrade with a bare status line."""
    root = server.site.resource
    assert isinstance(root, UpgradeRoutingResource)
    factory = root._make_websocket()._factory
    protocol = factory.buildProtocol(IPv4Address("TCP", "127.0.0.1", 1))
    transport = StringTransport(peerAddress=IPv4Address("TCP", "127.0.0.1", 4321))
    # As after a real upgrade: the HTTP channel is the transport's producer.
    transport.registerProducer(object(), True)
    protocol.makeConnection(transport)
    protocol.dataReceived(
        b"GET /_chatly/client/v1/ws HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n"
    )
    code, _ = matrix_error(transport.value())
    assert 400 <= code < 500


def test_listeners_use_the_configured_backlog(make_server: Any) -> None:
    server = make_server(
        {
            "listeners": [
                {"port": 8008},
                {"port": 8448, "backlog": 4096, "bind_addresses": ["::", "0.0.0.0"]},
            ]
        }
    )
    reactor = MemoryReactor()
    listen(server.hs, reactor)
    assert [(port, backlog) for port, _, backlog, _ in reactor.tcpServers] == [
        (8008, 1024),
        (8448, 4096),
        (8448, 4096),
    ]
