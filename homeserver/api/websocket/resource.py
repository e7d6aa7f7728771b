"""Serving the WebSocket path on a listener beside the HTTP resource.

A WebSocket upgrade at ``websocket.path`` goes to autobahn's WebSocketResource;
everything else, including a plain GET at that path, goes to the HTTP resource
and its router, where the path answers 426 M_UNRECOGNIZED.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.web import resource, server

from homeserver.api.http.request import ApiRequest
from homeserver.api.http.router import Router
from homeserver.api.websocket.session import SessionDeps
from homeserver.errors import Codes, MatrixError


class WebSocketPathEndpoint:
    """GET at the WebSocket path without an upgrade."""

    def __init__(self, path: str) -> None:
        self.PATTERNS = [path]

    async def on_GET(self, request: ApiRequest) -> None:
        raise MatrixError(
            426,
            "This path serves WebSocket upgrades only (see docs/websocket.md)",
            Codes.UNRECOGNIZED,
            headers={"Upgrade": "websocket"},
        )


class UpgradeRoutingResource(resource.Resource):
    """The listener's root: WebSocket upgrades at one path, HTTP for the rest."""

    isLeaf = True

    def __init__(
        self, http: resource.Resource, path: str, make_websocket: Callable[[], Any]
    ) -> None:
        super().__init__()
        self.http = http
        self.path = path.encode("utf-8")
        self._make_websocket = make_websocket
        self._websocket: Any = None

    def render(self, request: server.Request) -> Any:
        upgrade = (request.getHeader("upgrade") or "").lower()
        if request.path == self.path and "websocket" in upgrade:
            if self._websocket is None:
                # autobahn (~12 MiB resident) loads on the first upgrade, so a
                # server whose clients never use the socket does not pay for it.
                self._websocket = self._make_websocket()
            return self._websocket.render(request)
        return self.http.render(request)


def with_websocket(
    http: resource.Resource,
    router: Router,
    deps: SessionDeps,
    x_forwarded: bool,
    reactor: Any,
) -> UpgradeRoutingResource:
    """Put the WebSocket transport in front of a client listener's ``http`` resource.

    Args:
        http: the listener's HTTP resource.
        router: its router; requests over the socket use it too, and it gets
            the 426 answer for a plain GET at the WebSocket path.
        deps: what every session needs.
        x_forwarded: trust X-Forwarded-For for the client address.
        reactor: the reactor.
    """
    router.add_endpoint(WebSocketPathEndpoint(deps.config.path))

    def make_websocket() -> Any:
        from autobahn.twisted.resource import WebSocketResource

        from homeserver.api.websocket.protocol import ClientWebSocketFactory

        factory = ClientWebSocketFactory(deps, x_forwarded, reactor)
        return WebSocketResource(factory)

    return UpgradeRoutingResource(http, deps.config.path, make_websocket)
