"""The plain types the ``PluginAPI`` facade takes and returns.

Part of the public plugin surface (docs/plugins.md, "The PluginAPI facade"):
frozen attrs classes and dicts only, never the server's internal objects, so
the inside can change without breaking plugins. Import them from
``homeserver.plugins.api``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import attrs

from homeserver.errors import MatrixError

JsonDict = dict[str, Any]


@attrs.frozen
class PluginUser:
    """A local user as a plugin sees it.

    Attributes:
        user_id: the full user ID (``@alice:example.org``).
        displayname: the profile's display name, or None.
        avatar_url: the profile's avatar (an ``mxc://`` URI), or None.
    """

    user_id: str
    displayname: str | None = None
    avatar_url: str | None = None


@attrs.frozen
class AuthenticatedUser:
    """Who made an HTTP request to a plugin route (the access-token helper).

    Attributes:
        user_id: the user the access token belongs to.
        device_id: the token's device.
        is_admin: whether the user is a server admin.
    """

    user_id: str
    device_id: str
    is_admin: bool = False


@attrs.frozen
class PluginRequest:
    """One HTTP request to a plugin route.

    Attributes:
        method: ``GET``, ``PUT``, ``POST`` or ``DELETE`` (``HEAD`` arrives as ``GET``).
        path: the path after ``/_chatly/plugins/{name}`` (starts with ``/``).
        path_params: the ``{placeholders}`` of the route pattern, URL-decoded.
        query: the query string's values by name (each a list).
        headers: the request headers, names lower-cased.
        body: the raw request body.
        client_ip: the client's address.
        user: the authenticated user when the route was registered with
            ``require_auth=True``, else None.
    """

    method: str
    path: str
    path_params: dict[str, str]
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    client_ip: str
    user: AuthenticatedUser | None = None

    def json(self) -> Any:
        """The body parsed as JSON.

        Raises:
            PluginError: 400 ``M_NOT_JSON`` if it is not valid JSON.
        """
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            raise PluginError(400, "Content not JSON.", "M_NOT_JSON") from None

    def query_param(self, name: str, default: str | None = None) -> str | None:
        """The first value of query parameter ``name``, or ``default``."""
        values = self.query.get(name)
        return values[0] if values else default


@attrs.frozen
class PluginResponse:
    """A plugin route's answer, when a plain JSON 200 is not enough.

    Attributes:
        code: the HTTP status.
        body: the raw body.
        content_type: its media type.
        headers: extra response headers.
    """

    code: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = attrs.field(factory=dict)


RouteHandler = Callable[[PluginRequest], Awaitable[Any]]
"""A plugin route handler: takes the request, returns a ``PluginResponse``, a
``(code, json)`` pair, or anything JSON-serialisable (sent as a 200)."""


class PluginError(MatrixError):
    """An error a plugin raises to answer with Matrix error JSON.

    Raised from a route handler it becomes the response
    ``{"errcode": errcode, "error": message}`` with status ``code``. The
    facade raises it too when the server refuses something (the Matrix
    error of the refusal: ``M_FORBIDDEN``, ``M_USER_IN_USE``...).

    Attributes:
        code: the HTTP status.
        errcode: the Matrix error code.
        message: the human-readable message.
    """

    def __init__(self, code: int, message: str, errcode: str = "M_UNKNOWN") -> None:
        super().__init__(code, message, errcode)
        self.message = message


@attrs.frozen
class KvEntry:
    """One key and its value in the plugin's key-value store."""

    key: str
    value: Any


@attrs.frozen
class PluginHttpResponse:
    """The answer to ``PluginAPI.http_request``, whatever its status.

    Attributes:
        code: the HTTP status.
        headers: the response headers, names lower-cased (the last value of
            a repeated header).
        body: the whole body (at most 10 MiB).
    """

    code: int
    headers: dict[str, str]
    body: bytes


class PluginHttpError(Exception):
    """``PluginAPI.http_request`` got no answer: a denied address (nothing was
    sent), a bad URL, a connection failure, a timeout or a body too big. The
    message says which."""
