"""The HTTP connection: request deadlines, and Matrix errors for what Twisted
answers by itself.

Twisted's ``HTTPChannel`` restarts its idle timeout on every byte, so a client
sending one byte every few seconds could hold a connection forever. Here a
request's headers must be complete within ``http.request_header_timeout`` of
its first byte (else the connection is closed), and its body within
``http.request_body_timeout`` of the end of its headers (else 408 M_UNKNOWN and
the connection is closed).

Twisted answers a malformed request (bad request line, bad or too many
headers, bad chunking) with a bare ``400`` and no body, and drops a request
whose line or one header is longer than it buffers; here both get a Matrix
``{errcode, error}`` body like every other error.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from twisted.internet.protocol import connectionDone
from twisted.python.failure import Failure
from twisted.web import http

from homeserver.errors import Codes

logger = logging.getLogger(__name__)

_REASONS = {
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    408: "Request Timeout",
    426: "Upgrade Required",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
}


def raw_error_response(code: int, errcode: str, message: str) -> bytes:
    """A complete HTTP/1.1 error response with a Matrix JSON body, written
    straight to a transport when no Request can answer; the connection is
    closed after it."""
    body = json.dumps({"errcode": errcode, "error": message}).encode("utf-8")
    reason = _REASONS.get(code, "Error")
    head = (
        f"HTTP/1.1 {code} {reason}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Cache-Control: no-cache, no-store, must-revalidate\r\n"
        "Access-Control-Allow-Origin: *\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class MatrixHTTPChannel(http.HTTPChannel):
    """One client connection: ``HTTPChannel`` with request deadlines.

    Attributes:
        header_timeout: seconds from a request's first byte to the end of its
            headers; None for no deadline.
        body_timeout: seconds from the end of a request's headers to the end
            of its body; None for no deadline.
    """

    header_timeout: float | None = None
    body_timeout: float | None = None

    def __init__(self) -> None:
        super().__init__()
        self._deadline: Any = None  # an IDelayedCall
        # What the connection waits for: a request's "headers", its "body",
        # or nothing while a request is "handled" (pipelined bytes are
        # buffered by Twisted and replayed after it).
        self._waiting_for = "headers"

    def dataReceived(self, data: bytes) -> None:
        if data and self._waiting_for == "headers" and self._deadline is None:
            self._arm(self.header_timeout, self._headers_too_slow)
        super().dataReceived(data)

    def allHeadersReceived(self) -> None:
        self._disarm()
        self._waiting_for = "body"
        self._arm(self.body_timeout, self._body_too_slow)
        super().allHeadersReceived()

    def allContentReceived(self) -> None:
        self._disarm()
        self._waiting_for = "handled"
        super().allContentReceived()

    def requestDone(self, request: Any) -> None:
        # Before Twisted replays bytes of a pipelined request: they start the
        # next request's header deadline.
        self._waiting_for = "headers"
        super().requestDone(request)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self._disarm()
        super().connectionLost(reason)

    def _arm(self, seconds: float | None, callback: Any) -> None:
        if seconds:
            self._deadline = self.callLater(seconds, callback)

    def _disarm(self) -> None:
        if self._deadline is not None and self._deadline.active():
            self._deadline.cancel()
        self._deadline = None

    def _write(self, data: bytes) -> None:
        transport: Any = self.transport
        if transport is not None:
            transport.write(data)

    def _peer(self) -> str:
        transport: Any = self.transport
        peer = transport.getPeer() if transport is not None else None
        return str(getattr(peer, "host", "-"))

    def _headers_too_slow(self) -> None:
        self._deadline = None
        logger.info("%s: request headers not complete in time; closing", self._peer())
        self.timeoutConnection()

    def _body_too_slow(self) -> None:
        self._deadline = None
        logger.info("%s: request body not complete in time; 408", self._peer())
        self._write(
            raw_error_response(
                408, Codes.UNKNOWN, "The request body did not arrive in time"
            )
        )
        self.timeoutConnection()

    def _respondToBadRequestAndDisconnect(self) -> None:
        """Twisted's answer to a request it cannot parse, with a Matrix body."""
        self._disarm()
        self._write(raw_error_response(400, Codes.UNKNOWN, "Malformed HTTP request"))
        self.loseConnection()

    def lineLengthExceeded(self, line: bytes) -> None:
        """A request line or header longer than Twisted buffers (which it
        would drop without an answer)."""
        self._disarm()
        self._write(
            raw_error_response(
                431, Codes.TOO_LARGE, "Request line or header field too long"
            )
        )
        self.loseConnection()
