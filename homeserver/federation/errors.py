"""Errors of outbound federation requests."""

from __future__ import annotations

from typing import Any

from homeserver.errors import Codes, MatrixError


class FederationError(Exception):
    """An outbound federation request did not succeed."""


class RequestSendFailed(FederationError):
    """The destination could not be reached: DNS, connection, TLS, timeout, or
    every address it resolved to is blacklisted.

    Args:
        retriable: whether trying again later may help (a blacklisted or
            disallowed destination will never work).
    """

    def __init__(self, message: str, retriable: bool = True) -> None:
        super().__init__(message)
        self.retriable = retriable


class ResponseTooLarge(RequestSendFailed):
    """The answer was longer than the caller allows; it was cut off while it
    arrived. (Retriable, as any failed send: the sender's queues treat it
    as before this class existed.)"""

    def __init__(self, limit: int) -> None:
        super().__init__(f"response larger than {limit} bytes")
        self.limit = limit


class NotRetryingDestination(RequestSendFailed):
    """The destination is in backoff after earlier failures; nothing was sent."""

    def __init__(self, destination: str, retry_at_ms: int) -> None:
        super().__init__(f"not retrying {destination} until {retry_at_ms}")
        self.destination = destination
        self.retry_at_ms = retry_at_ms


class HttpResponseError(FederationError):
    """The destination answered with a non-2xx status.

    Attributes:
        code: the HTTP status.
        errcode: the Matrix errcode of the body, if it had one.
        body: the parsed JSON body, or None when it was not JSON.
    """

    def __init__(self, code: int, body: Any) -> None:
        self.code = code
        self.body = body
        self.errcode = body.get("errcode") if isinstance(body, dict) else None
        error = body.get("error") if isinstance(body, dict) else None
        super().__init__(f"{code} {self.errcode or ''} {error or ''}".strip())


def client_error(exc: Exception, what: str) -> MatrixError:
    """The error our client gets for a failed request to another server.

    The other server's 400, 403 and 404 are passed on (with its ``errcode``,
    ``error`` and any ``room_version``); anything else, including its 401
    (which is about our signature, not the client's token), is 502.

    Args:
        exc: what the request raised.
        what: the request, for the message (``"send_join"``).
    """
    if isinstance(exc, HttpResponseError) and exc.code in (400, 403, 404):
        body = exc.body if isinstance(exc.body, dict) else {}
        message = body.get("error") or f"{what} failed"
        return MatrixError(
            exc.code,
            str(message),
            exc.errcode or Codes.UNKNOWN,
            additional={k: v for k, v in body.items() if k == "room_version"},
        )
    return MatrixError(502, f"{what} failed: {exc}", Codes.UNKNOWN)
