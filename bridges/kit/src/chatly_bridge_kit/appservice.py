"""The endpoints a homeserver calls on an application service (spec v1.19,
"Application Service API"): ``PUT /_matrix/app/v1/transactions/{txnId}``,
``GET /_matrix/app/v1/users/{userId}``, ``GET /_matrix/app/v1/rooms/{alias}``
and ``POST /_matrix/app/v1/ping``, served with twisted.web.

Every request must carry the registration's ``hs_token`` (``Authorization:
Bearer``, or the legacy ``access_token`` query parameter): none is 401
``M_UNAUTHORIZED``, a wrong one 403 ``M_FORBIDDEN``. A transaction ID already
processed is acknowledged without handing its events over again.
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any, Protocol
from urllib.parse import unquote

from twisted.internet.defer import Deferred
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request

from chatly_bridge_kit.state import BridgeState

logger = logging.getLogger(__name__)

PREFIXES = ("/_matrix/app/v1/", "/")  # the second: pre-r0 homeservers


class AppServiceHandler(Protocol):
    """What a bridge implements for the homeserver's calls."""

    async def on_event(self, event: dict[str, Any]) -> None:
        """One event of a transaction (timeline or ephemeral)."""

    async def query_user(self, user_id: str) -> bool:
        """Create ``user_id`` if the bridge knows it; True when it exists now."""

    async def query_alias(self, alias: str) -> bool:
        """Create a room for ``alias`` if the bridge can; True when it exists now."""


def _error(request: Request, code: int, errcode: str, message: str) -> bytes:
    request.setResponseCode(code)
    request.setHeader(b"Content-Type", b"application/json")
    return json.dumps({"errcode": errcode, "error": message}).encode()


class AppServiceResource(Resource):
    """The AS API root; mount it as the site's root resource."""

    isLeaf = True

    def __init__(
        self, hs_token: str, handler: AppServiceHandler, state: BridgeState
    ) -> None:
        super().__init__()
        self._hs_token = hs_token.encode()
        self._handler = handler
        self._state = state

    def _token(self, request: Request) -> bytes | None:
        header = request.getHeader(b"authorization")
        if header and header.startswith(b"Bearer "):
            return header[len(b"Bearer ") :]
        args: dict[bytes, list[bytes]] = request.args or {}
        values = args.get(b"access_token")
        return values[0] if values else None

    def render(self, request: Request) -> bytes | int:
        token = self._token(request)
        if token is None:
            return _error(request, 401, "M_UNAUTHORIZED", "Missing hs_token")
        if not hmac.compare_digest(token, self._hs_token):
            return _error(request, 403, "M_FORBIDDEN", "Wrong hs_token")
        path = request.path.decode()
        for prefix in PREFIXES:
            if path.startswith(prefix):
                route = path[len(prefix) :].split("/", 1)
                if len(route) == 2 or route[0] == "ping":
                    break
        else:
            return _error(request, 404, "M_UNRECOGNIZED", "Unknown endpoint")
        kind, arg = route[0], unquote(route[1]) if len(route) == 2 else ""
        method = request.method
        if kind == "transactions" and method == b"PUT":
            work = self._transaction(request, arg)
        elif kind == "users" and method == b"GET":
            work = self._query(self._handler.query_user(arg))
        elif kind == "rooms" and method == b"GET":
            work = self._query(self._handler.query_alias(arg))
        elif kind == "ping" and method == b"POST":
            return self._json(request, 200, {})
        else:
            return _error(request, 404, "M_UNRECOGNIZED", "Unknown endpoint")
        Deferred.fromCoroutine(self._respond(request, work))
        return NOT_DONE_YET

    async def _query(self, found: Any) -> tuple[int, dict[str, Any]]:
        if await found:
            return 200, {}
        return 404, {"errcode": "M_NOT_FOUND", "error": "Not found"}

    async def _transaction(
        self, request: Request, txn_id: str
    ) -> tuple[int, dict[str, Any]]:
        try:
            raw = request.content.read() if request.content else b""
            body = json.loads(raw or b"{}")
            events = list(body.get("events") or [])
            events += (
                body.get("ephemeral") or body.get("de.sorunome.msc2409.ephemeral") or []
            )
        except (ValueError, AttributeError, TypeError):
            return 400, {"errcode": "M_NOT_JSON", "error": "Body is not a JSON object"}
        if self._state.seen_transaction(txn_id):
            return 200, {}
        for event in events:
            try:
                await self._handler.on_event(event)
            except Exception:
                # One bad event must not make the homeserver resend the rest.
                logger.exception("Handling an event of transaction %s failed", txn_id)
        self._state.mark_transaction(txn_id)
        return 200, {}

    async def _respond(self, request: Request, work: Any) -> None:
        try:
            code, body = await work
        except Exception:
            logger.exception("AS request failed")
            code, body = 500, {"errcode": "M_UNKNOWN", "error": "Internal error"}
        if not request.finished and not request._disconnected:
            request.write(self._json(request, code, body))
            request.finish()

    def _json(self, request: Request, code: int, body: dict[str, Any]) -> bytes:
        request.setResponseCode(code)
        request.setHeader(b"Content-Type", b"application/json")
        return json.dumps(body).encode()
