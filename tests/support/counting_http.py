"""Real local HTTP servers for tests of outbound requests: stdlib
``http.server`` instances in threads that count the connections they accept
and the requests each path gets."""

from __future__ import annotations

import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

Route = Callable[[BaseHTTPRequestHandler], None]


class CountingServer(ThreadingHTTPServer):
    """An HTTP server that records every connection it accepts and every
    request per path (query left out of the route lookup)."""

    daemon_threads = True

    def __init__(self, host: str, routes: dict[str, Route], port: int = 0) -> None:
        if ":" in host:
            self.address_family = socket.AF_INET6
        self.routes = routes
        self.connections = 0
        self.hits: Counter[str] = Counter()
        self.requests: list[BaseHTTPRequestHandler] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                path = urlsplit(self.path).path
                server.hits[path] += 1
                server.requests.append(self)
                route = server.routes.get(path)
                if route is None:
                    self.send_error(404)
                    return
                route(self)

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__((host, port), Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hangs up early (the caps) is expected here

    def get_request(self) -> Any:
        accepted = super().get_request()
        self.connections += 1
        return accepted

    @property
    def port(self) -> int:
        return int(self.server_address[1])


def text_route(
    body: bytes, status: int = 200, content_type: str | None = None, **headers: str
) -> Route:
    """Answer ``body`` with ``status`` (and a Content-Type, and more headers
    with ``_`` in their names for ``-``)."""

    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Content-Length", str(len(body)))
        if content_type is not None:
            handler.send_header("Content-Type", content_type)
        for name, value in headers.items():
            handler.send_header(name.replace("_", "-"), value)
        handler.end_headers()
        handler.wfile.write(body)

    return route


def redirect_route(location: str) -> Route:
    """Answer 302 to ``location``."""

    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(302)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return route


def serve_servers() -> Iterator[Callable[..., CountingServer]]:
    """A fixture body: ``start(host="127.0.0.1", port=0, **routes)`` starts a
    server whose routes are ``/<name>``; all are stopped afterwards."""
    servers: list[CountingServer] = []

    def start(
        host: str = "127.0.0.1", port: int = 0, **routes: Route
    ) -> CountingServer:
        server = CountingServer(host, {"/" + k: v for k, v in routes.items()}, port)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()
