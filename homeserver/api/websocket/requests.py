"""Client API requests carried over the WebSocket.

A ``request`` message becomes the same transport-independent ``ApiRequest`` the
HTTP site builds, and goes through the same Router and endpoints; failures map
to status and body through the same function as over HTTP
(``api/http/outcome.py``). Only client-server API paths are served.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from prometheus_client import Counter
from twisted.internet import defer

from homeserver.api.http.outcome import error_response, redact_access_token
from homeserver.api.http.params import parse_query
from homeserver.api.http.request import ApiRequest
from homeserver.api.http.router import Router
from homeserver.api.http.site import Response
from homeserver.api.websocket.messages import RequestMessage
from homeserver.errors import Codes, MatrixError
from homeserver.util import db_usage

logger = logging.getLogger(__name__)

WS_REQUESTS = Counter(
    "homeserver_websocket_requests_total",
    "Client API requests made over WebSockets",
    ["method", "endpoint", "code"],
)

CLIENT_API_PREFIX = "/_matrix/client/"


async def run_request(
    router: Router,
    message: RequestMessage,
    *,
    access_token: str | None,
    client_ip: str,
    user_agent: str | None,
    max_body_size: int,
) -> tuple[int, Any]:
    """Run one request message through the router.

    Args:
        router: the router of the listener the socket came in on.
        message: the request.
        access_token: the socket's token, sent as ``Authorization: Bearer``.
        client_ip: the socket's client address.
        user_agent: the User-Agent of the upgrade request.
        max_body_size: ``http.max_request_body_size``.

    Returns:
        The status and the JSON body, exactly as HTTP would answer.
    """
    start = time.perf_counter()
    raw_path, _, raw_query = message.path.partition("?")
    name = "unknown"
    usage, token = db_usage.begin("websocket", f"{message.method} {name}")
    try:
        if not raw_path.startswith(CLIENT_API_PREFIX):
            raise MatrixError(
                404,
                "Only client-server API paths can be requested over the WebSocket",
                Codes.UNRECOGNIZED,
            )
        if len(message.body) > max_body_size:
            raise MatrixError(413, "Request body too large", Codes.TOO_LARGE)
        headers = {"content-type": "application/json"}
        if access_token is not None:
            headers["authorization"] = f"Bearer {access_token}"
        if user_agent:
            headers["user-agent"] = user_agent
        request = ApiRequest(
            method=message.method,
            path=raw_path,
            query=parse_query(raw_query),
            headers=headers,
            body=message.body,
            client_ip=client_ip,
        )
        handler, params, name = router.resolve(request.method, request.path)
        usage.rename("websocket", f"{message.method} {name}")
        code, body = _result(await handler(request, **params))
    except defer.CancelledError:
        db_usage.end(usage, token)
        raise
    except Exception as exc:
        what = f"WS {message.method} {redact_access_token(message.path)}"
        code, body, _ = error_response(exc, what)
    WS_REQUESTS.labels(message.method, name, str(code)).inc()
    logger.info(
        "%s WS %s %s %d %.3fs",
        client_ip,
        message.method,
        redact_access_token(message.path),
        code,
        time.perf_counter() - start,
    )
    db_usage.log_usage(logger, usage)
    db_usage.end(usage, token)
    return code, body


def _result(result: Any) -> tuple[int, Any]:
    """An endpoint's return value as (status, JSON body), as the site renders it."""
    code = 200
    if isinstance(result, tuple):
        code, result = result
    if isinstance(result, Response):
        code = result.code if result.code != 200 else code
        if result.content_type.startswith("application/json"):
            return code, json.loads(result.body)
        return code, result.body.decode("utf-8", "replace")
    return code, result
