"""The autobahn side of the WebSocket transport: a thin adapter onto ClientSession.

The protocol takes the access token from the upgrade request, becomes its
transport's push producer (``SendFlow``) so it learns when the send buffer
fills, and hands every text message to the session. Everything else (auth,
sync, requests) is the session's. Spec: docs/websocket.md.
"""

from __future__ import annotations

import logging
from typing import Any

from autobahn.twisted.websocket import (
    WebSocketServerFactory,
    WebSocketServerProtocol,
)
from autobahn.websocket.protocol import WebSocketProtocol
from autobahn.websocket.types import ConnectionRequest
from prometheus_client import Counter, Gauge
from twisted.internet import defer

from homeserver.api.http.channel import raw_error_response
from homeserver.api.http.request import ApiRequest
from homeserver.api.websocket import messages as m
from homeserver.api.websocket.flow import SendFlow
from homeserver.api.websocket.session import ClientSession, SessionDeps
from homeserver.errors import Codes, NotJson
from homeserver.types import JsonDict

logger = logging.getLogger(__name__)

OPEN_SOCKETS = Gauge("homeserver_websocket_open", "Open client WebSockets")
SLOW_READER_CLOSES = Counter(
    "homeserver_websocket_slow_reader_closes_total",
    "Client WebSockets closed because they did not read fast enough",
)
SENT_BYTES = Counter(
    "homeserver_websocket_sent_bytes_total", "Bytes of messages sent on WebSockets"
)

# After our close frame, how long the client gets to answer before the TCP
# connection is aborted (and whatever is still buffered for it freed).
CLOSE_HANDSHAKE_TIMEOUT = 5.0
# Room for the request envelope around a body of http.max_request_body_size.
ENVELOPE_SLACK = 64 * 1024


class ClientWebSocketProtocol(WebSocketServerProtocol):
    """One client socket."""

    factory: ClientWebSocketFactory

    def __init__(self) -> None:
        super().__init__()
        self.session: ClientSession | None = None
        self.flow: SendFlow | None = None
        self._token: str | None = None
        self._client_ip = "-"
        self._user_agent: str | None = None

    def onConnect(self, request: ConnectionRequest) -> None:
        """The upgrade request: note its token, client address and user agent."""
        api_request = ApiRequest(
            "GET", request.path, query=request.params, headers=request.headers
        )
        self._token = api_request.access_token()
        self._user_agent = api_request.user_agent
        forwarded = api_request.header("x-forwarded-for")
        if self.factory.x_forwarded and forwarded:
            self._client_ip = forwarded.split(",")[0].strip()
        else:
            transport: Any = self.transport
            self._client_ip = getattr(transport.getPeer(), "host", "-")

    def sendHttpErrorResponse(
        self, code: int, reason: str, responseHeaders: Any = None
    ) -> None:
        """A failed upgrade (autobahn would answer a bare status line): the
        status with a Matrix ``{errcode, error}`` body, like every HTTP error."""
        errcode = Codes.UNRECOGNIZED if code in (404, 405, 426) else Codes.UNKNOWN
        response = raw_error_response(code, errcode, reason)
        if responseHeaders:
            head, sep, body = response.partition(b"\r\n")
            extra = "".join(f"{name}: {value}\r\n" for name, value in responseHeaders)
            response = head + sep + extra.encode("utf-8") + body
        self.sendData(response)

    def onOpen(self) -> None:
        deps = self.factory.deps
        self.flow = SendFlow(
            clock=deps.clock,
            max_pending_bytes=int(deps.config.max_pending_bytes),
            max_pending_seconds=deps.config.max_pending_time / 1000,
            send_ping=self.sendPing,
            on_slow=self.slow_reader,
        )
        # The HTTP channel that received the upgrade is still registered as the
        # transport's producer; the socket's flow control takes its place.
        transport: Any = self.transport
        transport.unregisterProducer()
        transport.registerProducer(self.flow, True)
        OPEN_SOCKETS.inc()
        logger.info("%s WS opened", self._client_ip)
        self.session = ClientSession(self, deps, self._client_ip, self._user_agent)
        self.session.start(self._token)

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        if self.session is None or self.state != WebSocketProtocol.STATE_OPEN:
            return
        if isBinary:
            error = NotJson("Only text frames are accepted")
            self.send(m.error_message(m.ABOUT_MESSAGE, error.code, error.to_json()))
            return
        self.session.on_message(payload)

    # autobahn builds the arguments of a debug line for every frame it sends
    # and every read, debug logging on or not (coloured with click.style):
    # 120,000 calls and some 5% of the reactor thread's time in a cProfile of
    # ten messages to a thousand sockets. These two do what autobahn's do
    # (26.x), without that line.

    def sendData(
        self, data: bytes, sync: bool = False, chopsize: int | None = None
    ) -> None:
        if chopsize or sync or self.send_queue:
            super().sendData(data, sync, chopsize)
            return
        transport: Any = self.transport
        transport.write(data)

    def dataReceived(self, data: bytes) -> None:
        self._dataReceived(data)

    def onPong(self, payload: bytes) -> None:
        if self.flow is not None:
            self.flow.pong(payload)

    def onClose(self, wasClean: bool, code: int | None, reason: str | None) -> None:
        if self.session is not None:
            OPEN_SOCKETS.dec()
            requester = self.session.requester
            logger.info(
                "%s WS closed %s %s (%s)",
                self._client_ip,
                requester.user_id if requester else "-",
                code,
                reason,
            )
            self.session.closed()
            self.session = None
        if self.flow is not None:
            self.flow.stop()

    # The session's Connection -----------------------------------------------

    def send(self, message: JsonDict) -> int:
        """Queue one message (dropped once the socket is closing); its size."""
        if self.state != WebSocketProtocol.STATE_OPEN:
            return 0
        data = m.encode(message)
        self.sendMessage(data, isBinary=False)
        SENT_BYTES.inc(len(data))
        if self.flow is not None:
            self.flow.wrote(len(data))
        return len(data)

    def close(self, code: int, reason: str) -> None:
        """Start the closing handshake (autobahn aborts TCP if it stalls)."""
        if self.state == WebSocketProtocol.STATE_OPEN:
            self.sendClose(code, reason)

    def delivered(self) -> defer.Deferred[None]:
        """Fires once the client has received everything sent so far."""
        assert self.flow is not None
        return self.flow.barrier()

    def backed_up(self) -> bool:
        """Whether the transport paused the socket (its send buffer is full)."""
        return self.flow is None or self.flow.paused

    def slow_reader(self, why: str) -> None:
        """Close the socket with 4008 "slow reader", counting it."""
        if self.state != WebSocketProtocol.STATE_OPEN:
            return
        logger.warning("closing slow WebSocket reader %s: %s", self._client_ip, why)
        SLOW_READER_CLOSES.inc()
        self.close(m.CLOSE_SLOW_READER, "slow reader")


class ClientWebSocketFactory(WebSocketServerFactory):
    """Builds a ClientWebSocketProtocol per socket of one listener.

    Args:
        deps: what every session needs.
        x_forwarded: trust X-Forwarded-For for the client address.
        reactor: the reactor.
    """

    protocol = ClientWebSocketProtocol  # type: ignore[assignment]

    def __init__(self, deps: SessionDeps, x_forwarded: bool, reactor: Any) -> None:
        super().__init__(reactor=reactor)
        self.deps = deps
        self.x_forwarded = x_forwarded
        max_message = deps.max_body_size + ENVELOPE_SLACK
        self.setProtocolOptions(
            autoPingInterval=deps.config.ping_interval / 1000,
            autoPingTimeout=deps.config.ping_timeout / 1000,
            maxMessagePayloadSize=max_message,
            maxFramePayloadSize=max_message,
            closeHandshakeTimeout=CLOSE_HANDSHAKE_TIMEOUT,
            openHandshakeTimeout=30.0,
        )
