"""Plugin HTTP routes: every plugin's own resource under ``/_chatly/plugins/{name}/``.

Each plugin registers ``(method, pattern, handler)`` through its facade; the
one ``PluginRoutesEndpoint`` (``api/plugin_routes.py``) in the client
router dispatches to them. A path
no plugin route matches gets 404 ``M_UNRECOGNIZED``, a known path with
another method 405, as everywhere else on the server.
"""

from __future__ import annotations

import re

import attrs

from homeserver.errors import Codes, MatrixError, Unrecognized
from homeserver.plugins.api_types import AuthenticatedUser, RouteHandler
from homeserver.services.accounts.auth import Auth

PREFIX = "/_chatly/plugins"
METHODS = ("GET", "PUT", "POST", "DELETE")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """A route pattern (``/items/{item_id}``) as a regex; each placeholder
    matches one path segment, the rest literally.

    Raises:
        ValueError: the pattern does not start with ``/``.
    """
    if not pattern.startswith("/"):
        raise ValueError(f"route pattern must start with '/': {pattern!r}")
    parts, last = [], 0
    for match in _PLACEHOLDER.finditer(pattern):
        parts.append(re.escape(pattern[last : match.start()]))
        parts.append(f"(?P<{match.group(1)}>[^/]+)")
        last = match.end()
    parts.append(re.escape(pattern[last:]))
    return re.compile("^" + "".join(parts) + "$")


@attrs.frozen
class PluginRoute:
    """One registered route of one plugin."""

    method: str
    regex: re.Pattern[str]
    handler: RouteHandler
    require_auth: bool


class PluginRouteTable:
    """The routes of every plugin, by plugin name."""

    def __init__(self) -> None:
        self._routes: dict[str, list[PluginRoute]] = {}

    def add(
        self,
        plugin: str,
        method: str,
        pattern: str,
        handler: RouteHandler,
        require_auth: bool,
    ) -> None:
        """Register one route of ``plugin``.

        Raises:
            ValueError: an unknown method or a malformed pattern.
        """
        method = method.upper()
        if method not in METHODS:
            raise ValueError(f"unsupported HTTP method {method!r}")
        route = PluginRoute(method, compile_pattern(pattern), handler, require_auth)
        self._routes.setdefault(plugin, []).append(route)

    def remove_plugin(self, plugin: str) -> None:
        """Forget every route of ``plugin`` (at its shutdown)."""
        self._routes.pop(plugin, None)

    def resolve(
        self, plugin: str, method: str, path: str
    ) -> tuple[PluginRoute, dict[str, str]]:
        """The route for a request and its path parameters (still
        percent-encoded: the endpoint decodes them).

        Raises:
            Unrecognized: 404 if no route of ``plugin`` matches the path, 405
                if none takes the method.
        """
        if method == "HEAD":
            method = "GET"
        path_matched = False
        for route in self._routes.get(plugin, ()):
            match = route.regex.match(path)
            if not match:
                continue
            path_matched = True
            if route.method == method:
                return route, match.groupdict()
        if path_matched:
            raise Unrecognized(405, f"Unsupported method {method}")
        raise Unrecognized(404, "Unrecognized request")


def access_token_of(headers: dict[str, str], query: dict[str, list[str]]) -> str | None:
    """A request's access token: ``Authorization: Bearer`` (headers with
    lower-cased names) or the ``access_token`` query parameter."""
    header = headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        return token.strip() or None if scheme.lower() == "bearer" else None
    values = query.get("access_token")
    return values[0] if values else None


async def authenticate(
    auth: Auth,
    headers: dict[str, str],
    query: dict[str, list[str]],
    client_ip: str,
) -> AuthenticatedUser:
    """The user whose access token a request carries.

    Raises:
        MatrixError: 401 M_MISSING_TOKEN or M_UNKNOWN_TOKEN; 403
            M_GUEST_ACCESS_FORBIDDEN for a guest (plugin routes are closed
            to guests, as a new client endpoint is).
    """
    token = access_token_of(headers, query)
    if token is None:
        raise MatrixError(401, "Missing access token", Codes.MISSING_TOKEN)
    requester = await auth.get_user_by_access_token(
        token, client_ip, user_agent=headers.get("user-agent")
    )
    if requester.is_guest:
        raise MatrixError(403, "Guest access not allowed", Codes.GUEST_ACCESS_FORBIDDEN)
    return AuthenticatedUser(requester.user_id, requester.device_id, requester.is_admin)
