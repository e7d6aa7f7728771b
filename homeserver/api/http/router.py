"""Route table: (method, path pattern) to endpoint method.

Spec: client-server API, "API Standards" (unknown endpoints get 404
M_UNRECOGNIZED, a known path with the wrong method 405 M_UNRECOGNIZED).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import attrs

from homeserver.api.http.params import decode_path_param
from homeserver.errors import Unrecognized

HTTP_METHODS = ("GET", "PUT", "POST", "DELETE")
Handler = Callable[..., Awaitable[Any]]


def client_patterns(
    path: str,
    *,
    r0: bool = True,
    v3: bool = True,
    v1: bool = False,
    unstable: bool = False,
) -> list[str]:
    """Path patterns for a client-server endpoint under the prefixes it exists on.

    Args:
        path: the path after the version, e.g. ``/login``.
        r0: also serve the legacy ``/_matrix/client/r0`` alias (for endpoints
            that existed in r0: Hydrogen and older bots still use it).
        v3: serve under ``/_matrix/client/v3``.
        v1: serve under ``/_matrix/client/v1``.
        unstable: serve under ``/_matrix/client/unstable``.
    """
    versions = [
        name
        for name, on in (("r0", r0), ("v3", v3), ("v1", v1), ("unstable", unstable))
        if on
    ]
    return [f"/_matrix/client/{version}{path}" for version in versions]


def _compile(pattern: str) -> re.Pattern[str]:
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern)
    return re.compile(f"^{regex}$")


# Routes are filed under their first path segments, this many at most, when
# those are literal: a request then tries the few routes of its own prefix
# (and those with a parameter or an expression there), not all 360 of them.
_INDEXED = 4
_LITERAL = re.compile(r"[\w.~-]+")


def _index_key(pattern: str) -> tuple[str, ...] | None:
    """The leading segments ``pattern`` is filed under; None when one of them
    is not literal (a parameter, an expression): tried for every path."""
    segments = pattern.split("/")[1 : _INDEXED + 1]
    if all(_LITERAL.fullmatch(segment) for segment in segments):
        return tuple(segments)
    return None


def _path_key(path: str) -> tuple[str, ...]:
    """A request path's leading segments, as ``_index_key`` files them (a
    path a route matches has as many segments as its pattern)."""
    return tuple(path.split("/", _INDEXED + 1)[1 : _INDEXED + 1])


@attrs.frozen
class Route:
    """One compiled route."""

    regex: re.Pattern[str]
    methods: dict[str, Handler]
    name: str


class Router:
    """Matches a method and path to a handler and its decoded path parameters.

    Routes are tried in the order they were added, among those filed under
    the path's leading segments and those filed under none.
    """

    def __init__(self) -> None:
        self._routes: list[Route] = []
        # leading segments -> the indexes of the routes filed there (None:
        # not filed, tried for every path)
        self._filed: dict[tuple[str, ...] | None, list[int]] = {}
        # leading segments (None: none filed) -> the routes to try, in order
        self._candidates: dict[tuple[str, ...] | None, list[Route]] = {}

    def add(self, patterns: list[str], methods: dict[str, Handler], name: str) -> None:
        """Register ``methods`` (e.g. ``{"GET": fn}``) at each of ``patterns``."""
        for pattern in patterns:
            self._filed.setdefault(_index_key(pattern), []).append(len(self._routes))
            self._routes.append(Route(_compile(pattern), dict(methods), name))
        self._candidates.clear()

    def _routes_for(self, path: str) -> list[Route]:
        """The routes that may match ``path``, in the order they were added."""
        key: tuple[str, ...] | None = _path_key(path)
        if key not in self._filed:
            # Only the unfiled routes can match (and not every 404 path's
            # segments are remembered).
            key = None
        found = self._candidates.get(key)
        if found is None:
            order = sorted({*self._filed.get(key, ()), *self._filed.get(None, ())})
            found = self._candidates[key] = [self._routes[i] for i in order]
        return found

    def add_endpoint(self, endpoint: Any) -> None:
        """Register an endpoint object: its ``PATTERNS`` and ``on_<METHOD>`` methods."""
        methods = {
            method: getattr(endpoint, f"on_{method}")
            for method in HTTP_METHODS
            if hasattr(endpoint, f"on_{method}")
        }
        self.add(endpoint.PATTERNS, methods, type(endpoint).__name__)

    def resolve(self, method: str, path: str) -> tuple[Handler, dict[str, str], str]:
        """Find the handler for a request.

        Returns:
            The handler, its path parameters (URL-decoded) and the route name.

        Raises:
            Unrecognized: 404 if no route matches the path, 405 if none takes the method.
            InvalidParam: 400 for a path parameter that is not valid
                percent-encoded UTF-8 or holds a NUL character.
        """
        if method == "HEAD":
            method = "GET"
        path_matched = False
        for route in self._routes_for(path):
            match = route.regex.match(path)
            if not match:
                continue
            path_matched = True
            handler = route.methods.get(method)
            if handler is not None:
                params = {
                    k: decode_path_param(k, v) for k, v in match.groupdict().items()
                }
                return handler, params, route.name
        if path_matched:
            raise Unrecognized(405, f"Unsupported method {method}")
        raise Unrecognized(404, "Unrecognized request")

    def allowed_methods(self, path: str) -> list[str]:
        """The methods some route accepts at ``path``."""
        methods: set[str] = set()
        for route in self._routes_for(path):
            if route.regex.match(path):
                methods.update(route.methods)
        return sorted(methods)
