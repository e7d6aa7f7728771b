"""How an endpoint's failure reaches a client: one mapping for every transport.

The HTTP site and the WebSocket transport both answer with the status and body
this module gives, so a client sees the same error whichever way it called.
Spec: client-server API, "Standard error response" and "User-interactive
authentication API" (the 401 body of an unfinished UIA flow).
"""

from __future__ import annotations

import logging

from homeserver.errors import Codes, InteractiveAuthIncomplete, MatrixError
from homeserver.types import JsonDict

logger = logging.getLogger(__name__)

INTERNAL_ERROR: JsonDict = {"errcode": Codes.UNKNOWN, "error": "Internal server error"}


def error_response(exc: Exception, what: str) -> tuple[int, JsonDict, dict[str, str]]:
    """The status, JSON body and extra headers that answer a failed request.

    Args:
        exc: what the endpoint raised.
        what: the request, for the log line of an unexpected failure (method and
            URI with any access token already redacted).

    Returns:
        A MatrixError's own status, ``{errcode, error}`` body and headers; 401
        with the UIA state for InteractiveAuthIncomplete; anything else is our
        bug: it is logged with its traceback and answered 500 M_UNKNOWN, with
        nothing of the exception in the body.
    """
    if isinstance(exc, MatrixError):
        return exc.code, exc.to_json(), dict(exc.headers)
    if isinstance(exc, InteractiveAuthIncomplete):
        return 401, exc.body, {}
    logger.error("request failed: %s", what, exc_info=exc)
    return 500, dict(INTERNAL_ERROR), {}


def redact_access_token(uri: str) -> str:
    """``uri`` with the value of an ``access_token`` query parameter blanked out."""
    if "access_token=" not in uri:
        return uri
    head, _, rest = uri.partition("access_token=")
    _, amp, tail = rest.partition("&")
    return f"{head}access_token=<redacted>{amp}{tail}"
