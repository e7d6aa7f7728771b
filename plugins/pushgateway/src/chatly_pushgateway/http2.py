"""A small HTTP/2 client on the Twisted reactor (``h2`` over TLS with ALPN),
for APNs, which speaks nothing but HTTP/2.

One connection per client, opened on first use and reused for every
request (APNs wants long-lived connections); requests are streams on it.
Reopened after the server closes it (GOAWAY, idle timeout). Nothing
blocks the reactor: the TLS socket, the h2 state machine and the timeouts
are all event-driven.

This client connects to one fixed host from the operator's config (the
APNs host), never to a URL a user gave, so it does not go through the
server's address denylist (``PluginAPI.http_request`` speaks HTTP/1.1 only).
"""

from __future__ import annotations

from typing import Any

import attrs
from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.events import (
    ConnectionTerminated,
    DataReceived,
    ResponseReceived,
    StreamEnded,
    StreamReset,
)
from h2.exceptions import ProtocolError
from twisted.internet import defer
from twisted.internet.abstract import isIPAddress, isIPv6Address
from twisted.internet.endpoints import (
    HostnameEndpoint,
    TCP4ClientEndpoint,
    TCP6ClientEndpoint,
    wrapClientTLS,
)
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.ssl import (
    Certificate,
    optionsForClientTLS,
    trustRootFromCertificates,
)
from twisted.python.failure import Failure

from chatly_pushgateway.pushkin import TransportError


@attrs.frozen
class Http2Response:
    """An answer: status, headers (lower-case names) and body."""

    code: int
    headers: dict[str, str]
    body: bytes


@attrs.define
class _Stream:
    done: defer.Deferred[Http2Response]
    code: int = 0
    headers: dict[str, str] = attrs.field(factory=dict)
    body: bytearray = attrs.field(factory=bytearray)


class _H2Protocol(Protocol):
    def __init__(self, authority: str) -> None:
        self.authority = authority
        self.conn = H2Connection(
            H2Configuration(client_side=True, header_encoding="utf-8")
        )
        self.streams: dict[int, _Stream] = {}
        self.open = False

    def connectionMade(self) -> None:  # noqa: N802
        self.open = True
        self.conn.initiate_connection()
        self._flush()

    def _flush(self) -> None:
        data = self.conn.data_to_send()
        transport: Any = self.transport
        if data and transport is not None:
            transport.write(data)

    def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> defer.Deferred[Http2Response]:
        stream_id = self.conn.get_next_available_stream_id()
        all_headers = [
            (":method", method),
            (":scheme", "https"),
            (":authority", self.authority),
            (":path", path),
            *((k.lower(), v) for k, v in headers.items()),
            ("content-length", str(len(body))),
        ]
        stream = _Stream(done=defer.Deferred())
        self.streams[stream_id] = stream
        self.conn.send_headers(stream_id, all_headers, end_stream=not body)
        if body:
            self.conn.send_data(stream_id, body, end_stream=True)
        self._flush()
        return stream.done

    def dataReceived(self, data: bytes) -> None:  # noqa: N802
        try:
            events = self.conn.receive_data(data)
        except ProtocolError as exc:
            self._fail_all(TransportError(f"HTTP/2 protocol error: {exc}"))
            self.close()
            return
        for event in events:
            self._event(event)
        self._flush()

    def _event(self, event: Any) -> None:
        stream = self.streams.get(getattr(event, "stream_id", 0) or 0)
        if isinstance(event, ResponseReceived) and stream is not None:
            stream.headers = {str(k): str(v) for k, v in event.headers}
            stream.code = int(stream.headers.get(":status", "0"))
        elif isinstance(event, DataReceived) and stream is not None:
            stream.body += event.data
            self.conn.acknowledge_received_data(
                event.flow_controlled_length, event.stream_id
            )
        elif isinstance(event, StreamEnded) and stream is not None:
            del self.streams[event.stream_id]
            headers = {k: v for k, v in stream.headers.items() if k[0] != ":"}
            answer = Http2Response(stream.code, headers, bytes(stream.body))
            if not stream.done.called:  # not timed out meanwhile
                stream.done.callback(answer)
        elif isinstance(event, StreamReset) and stream is not None:
            del self.streams[event.stream_id]
            if not stream.done.called:
                stream.done.errback(TransportError(f"reset ({event.error_code})"))
        elif isinstance(event, ConnectionTerminated):
            self.open = False  # GOAWAY: no new streams; finish or fail the rest
            self.close()

    def close(self) -> None:
        transport: Any = self.transport
        if transport is not None:
            transport.loseConnection()

    def connectionLost(self, reason: Failure = Failure(ConnectionError())) -> None:  # noqa: N802, B008
        self.open = False
        self._fail_all(TransportError(f"connection lost: {reason.getErrorMessage()}"))

    def _fail_all(self, error: Exception) -> None:
        self.open = False
        streams, self.streams = self.streams, {}
        for stream in streams.values():
            if not stream.done.called:
                stream.done.errback(error)


class Http2Client:
    """Requests to one HTTPS host over one reused HTTP/2 connection.

    Args:
        reactor: the Twisted reactor.
        host: the host name (also checked against its certificate).
        port: the port.
        ca_pem: certificates to trust instead of the system's (tests).
        timeout_s: the limit for connecting and for each request.
    """

    def __init__(
        self,
        reactor: Any,
        host: str,
        port: int = 443,
        *,
        ca_pem: bytes | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self.reactor = reactor
        self.host, self.port = host, port
        self.timeout_s = timeout_s
        trust = None
        if ca_pem is not None:
            trust = trustRootFromCertificates([Certificate.loadPEM(ca_pem)])
        self.tls = optionsForClientTLS(
            host, trustRoot=trust, acceptableProtocols=[b"h2"]
        )
        self._protocol: _H2Protocol | None = None
        self._lock = defer.DeferredLock()

    async def _connection(self) -> _H2Protocol:
        async with self._lock:
            if self._protocol is not None and self._protocol.open:
                return self._protocol
            authority = self.host if self.port == 443 else f"{self.host}:{self.port}"
            endpoint: Any = wrapClientTLS(self.tls, self._tcp_endpoint())
            factory = Factory.forProtocol(lambda: _H2Protocol(authority))
            try:
                protocol = await endpoint.connect(factory)
            except Exception as exc:
                raise TransportError(f"cannot connect to {self.host}: {exc}") from None
            self._protocol = protocol
            return protocol

    def _tcp_endpoint(self) -> Any:
        # An IP literal needs no name resolution (HostnameEndpoint would ask
        # the reactor's resolver thread pool even for one).
        if isIPAddress(self.host):
            return TCP4ClientEndpoint(
                self.reactor, self.host, self.port, timeout=self.timeout_s
            )
        if isIPv6Address(self.host):
            return TCP6ClientEndpoint(
                self.reactor, self.host, self.port, timeout=self.timeout_s
            )
        return HostnameEndpoint(
            self.reactor, self.host, self.port, timeout=self.timeout_s
        )

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> Http2Response:
        """One request.

        Raises:
            TransportError: no answer (connection failure, reset, timeout).
        """
        protocol = await self._connection()
        done = protocol.request(method, path, headers, body)
        done.addTimeout(self.timeout_s, self.reactor)
        try:
            return await done
        except defer.TimeoutError:
            raise TransportError(f"no answer from {self.host} in time") from None

    def close(self) -> None:
        """Close the connection (pending requests fail)."""
        if self._protocol is not None:
            self._protocol.close()
        self._protocol = None
