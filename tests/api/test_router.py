"""The route table (api/http/router.py): routes filed under their leading
literal segments are found as a scan of every route in order would find
them."""

from __future__ import annotations

import re
from typing import Any

import pytest

from homeserver.api.http.router import Route, Router
from homeserver.errors import Unrecognized
from tests.support.server import TestServer


def _handler(name: str) -> Any:
    async def handler() -> str:
        return name

    return handler


def _router(*routes: tuple[str, str, str]) -> Router:
    router = Router()
    for pattern, method, name in routes:
        router.add([pattern], {method: _handler(name)}, name)
    return router


def test_the_first_route_added_wins_filed_or_not() -> None:
    router = _router(
        ("/_matrix/client/v3/rooms/{roomId}/state", "GET", "filed"),
        ("/_matrix/{api}/v3/rooms/{roomId}/state", "GET", "unfiled"),
        ("/_matrix/{api}/v3/rooms/{roomId}/members", "GET", "unfiled first"),
        ("/_matrix/client/v3/rooms/{roomId}/members", "GET", "filed later"),
    )
    assert router.resolve("GET", "/_matrix/client/v3/rooms/!r/state")[2] == "filed"
    assert router.resolve("GET", "/_matrix/media/v3/rooms/!r/state")[2] == "unfiled"
    path = "/_matrix/client/v3/rooms/!r/members"
    assert router.resolve("GET", path)[2] == "unfiled first"


def test_methods_are_looked_for_across_filed_and_unfiled_routes() -> None:
    router = _router(
        ("/_matrix/client/v3/thing/{id}", "GET", "get"),
        ("/_matrix/client/{version}/thing/{id}", "PUT", "put"),
    )
    path = "/_matrix/client/v3/thing/1"
    assert router.resolve("PUT", path)[2] == "put"
    assert router.resolve("HEAD", path)[2] == "get"
    assert router.allowed_methods(path) == ["GET", "PUT"]
    with pytest.raises(Unrecognized) as wrong:
        router.resolve("DELETE", path)
    assert wrong.value.code == 405
    with pytest.raises(Unrecognized) as unknown:
        router.resolve("GET", "/_matrix/client/v3/other/1")
    assert unknown.value.code == 404


def test_short_paths_and_a_dot_is_no_wildcard() -> None:
    router = _router(
        ("/health", "GET", "health"),
        ("/.well-known/matrix/client", "GET", "well-known"),
        ("/_matrix/client/versions", "GET", "versions"),
    )
    assert router.resolve("GET", "/health")[2] == "health"
    assert router.resolve("GET", "/_matrix/client/versions")[2] == "versions"
    assert router.resolve("GET", "/.well-known/matrix/client")[2] == "well-known"
    for path in (
        "/xwell-known/matrix/client",
        "/health/",
        "/_matrix/client/versions/x",
    ):
        with pytest.raises(Unrecognized):
            router.resolve("GET", path)


def _linear(routes: list[Route], method: str, path: str) -> str | None:
    """The route a scan of every route, in order, finds (None: 404/405)."""
    for route in routes:
        if route.regex.match(path) and method in route.methods:
            return route.name
    return None


def _sample_path(route: Route) -> str:
    """A path the route's pattern matches, each parameter filled in."""
    pattern = route.regex.pattern.strip("^$")
    pattern = re.sub(r"\(\?P<rest>/\.\*\)", "/any/thing", pattern)
    return re.sub(r"\(\?P<\w+>\[\^/\]\+\)", "x", pattern).replace("\\", "")


def test_every_real_route_is_found_as_a_scan_finds_it(server: TestServer) -> None:
    """The whole table of a client and federation listener: for a path made
    from each pattern, and for paths no route takes, every method resolves
    to the route (or the error) a scan of the table in order gives."""
    resource: Any = server.hs.build_resource(["client", "federation"])
    router: Router = resource.http.router
    routes = router._routes
    assert len(routes) > 300
    paths = [_sample_path(route) for route in routes]
    paths += ["/", "/_matrix/client/v3/no/such/thing", "/_matrix/unknown"]
    for path in paths:
        for method in ("GET", "PUT", "POST", "DELETE"):
            expected = _linear(routes, method, path)
            try:
                found: str | None = router.resolve(method, path)[2]
            except Unrecognized:
                found = None
            assert found == expected, (method, path)
