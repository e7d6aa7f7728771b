"""The WebSocket protocol's messages: parsing what clients send, building replies.

Every message is one JSON object in a text frame, with a ``type``. The protocol
is specified in docs/websocket.md; this module is its grammar, with no I/O.
"""

from __future__ import annotations

import json
from typing import Any

import attrs

from homeserver.errors import BadJson, MatrixError, NotJson
from homeserver.types import JsonDict
from homeserver.util.compact_json import encode_compact

# Close codes (RFC 6455 section 7.4; 4000-4999 are ours).
CLOSE_NORMAL = 1000
CLOSE_AUTH_FAILED = 4001
CLOSE_SLOW_READER = 4008

# What an "error" message is about.
ABOUT_AUTH = "auth"
ABOUT_SYNC = "sync"
ABOUT_SLIDING_SYNC = "sliding_sync"
ABOUT_MESSAGE = "message"

MAX_ID_LENGTH = 255


@attrs.frozen
class AuthMessage:
    """``{"type": "auth", "access_token": ...}``."""

    access_token: str


@attrs.frozen
class SyncMessage:
    """``{"type": "sync", ...}``: the /sync parameters, as /sync's query would
    say, and whether the client acknowledges each response itself."""

    query: dict[str, list[str]]
    ack: bool = False


@attrs.frozen
class SlidingSyncMessage:
    """``{"type": "sliding_sync", "body": {...}, "ack"?}``: a sliding-sync
    request body (docs/sliding-sync.md) the stream repeats with each ``pos``."""

    body: JsonDict
    ack: bool = False


@attrs.frozen
class AckMessage:
    """``{"type": "ack", "next_batch": ...}`` (or ``"pos"`` for the
    sliding-sync stream): a response is processed."""

    next_batch: str


@attrs.frozen
class RequestMessage:
    """``{"type": "request", "id", "method", "path", "body"}``."""

    id: str
    method: str
    path: str
    body: bytes


@attrs.frozen
class PingMessage:
    """``{"type": "ping"}``, with an optional ``id`` echoed in the pong."""

    id: Any = None


ClientMessage = (
    AuthMessage
    | SyncMessage
    | SlidingSyncMessage
    | AckMessage
    | RequestMessage
    | PingMessage
)


class RequestMessageError(Exception):
    """A request message with a usable ``id`` but an unusable rest: it is
    answered as a response with that id rather than as an error message."""

    def __init__(self, request_id: str, error: MatrixError) -> None:
        super().__init__(str(error))
        self.request_id = request_id
        self.error = error


def parse_message(payload: bytes) -> ClientMessage:
    """One client message.

    Raises:
        MatrixError: M_NOT_JSON or M_BAD_JSON for a message that is not a JSON
            object of a known type with the fields it needs.
        RequestMessageError: for a request message with a valid ``id`` whose
            other fields are wrong.
    """
    try:
        data = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise NotJson("Message is not JSON.") from None
    if not isinstance(data, dict):
        raise BadJson("Message must be a JSON object.")
    kind = data.get("type")
    if kind == "auth":
        token = data.get("access_token")
        if not isinstance(token, str) or not token:
            raise BadJson("auth needs an access_token string")
        return AuthMessage(token)
    if kind == "sync":
        ack = data.get("ack", False)
        if not isinstance(ack, bool):
            raise BadJson("sync: ack must be true or false")
        return SyncMessage(_sync_query(data), ack)
    if kind == "sliding_sync":
        ack = data.get("ack", False)
        body = data.get("body", {})
        if not isinstance(ack, bool) or not isinstance(body, dict):
            raise BadJson("sliding_sync: body must be an object, ack a boolean")
        return SlidingSyncMessage(body, ack)
    if kind == "ack":
        next_batch = data.get("next_batch", data.get("pos"))
        if not isinstance(next_batch, str):
            raise BadJson("ack needs the next_batch string of a sync message")
        return AckMessage(next_batch)
    if kind == "request":
        return _request(data)
    if kind == "ping":
        return PingMessage(data.get("id"))
    raise MatrixError(400, f"Unknown message type {kind!r}", "M_UNRECOGNIZED")


def _sync_query(data: JsonDict) -> dict[str, list[str]]:
    query: dict[str, list[str]] = {}
    for key in ("since", "set_presence"):
        value = data.get(key)
        if value is not None:
            if not isinstance(value, str):
                raise BadJson(f"sync: {key} must be a string")
            query[key] = [value]
    filter_value = data.get("filter")
    if isinstance(filter_value, dict):
        query["filter"] = [json.dumps(filter_value)]
    elif isinstance(filter_value, str):
        query["filter"] = [filter_value]
    elif filter_value is not None:
        raise BadJson("sync: filter must be a filter ID or a filter object")
    full_state = data.get("full_state", False)
    if not isinstance(full_state, bool):
        raise BadJson("sync: full_state must be true or false")
    query["full_state"] = ["true" if full_state else "false"]
    return query


def _request(data: JsonDict) -> RequestMessage:
    request_id = data.get("id")
    if not isinstance(request_id, str) or not 0 < len(request_id) <= MAX_ID_LENGTH:
        raise BadJson(
            f"request: id must be a string of 1 to {MAX_ID_LENGTH} characters"
        )
    method, path = data.get("method"), data.get("path")
    if not isinstance(method, str) or not isinstance(path, str):
        raise RequestMessageError(
            request_id, BadJson("request: method and path must be strings")
        )
    body = b"" if "body" not in data else json.dumps(data["body"]).encode("utf-8")
    return RequestMessage(request_id, method.upper(), path, body)


def encode(message: JsonDict) -> bytes:
    """A server message as compact UTF-8 JSON (``util/compact_json.py``)."""
    return encode_compact(message)


def error_message(about: str, status: int, body: JsonDict) -> JsonDict:
    """``{"type": "error", "about", "status", "body"}``."""
    return {"type": "error", "about": about, "status": status, "body": body}


def response_message(request_id: str, status: int, body: Any) -> JsonDict:
    """``{"type": "response", "id", "status", "body"}``."""
    return {"type": "response", "id": request_id, "status": status, "body": body}
