"""A real small HTTP server standing in for an application service: it
records the transactions, pings and queries it gets, and can be taken down
(connection refused) or made to fail (an HTTP status) and brought back.

It runs on the real reactor the harness iterates (``tests/appservices/kit.py``).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote, urlsplit

import attrs
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Site


@attrs.define
class Received:
    """One request the AS got."""

    method: str
    path: str
    query: str
    authorization: str | None
    body: Any
    status: int = 0


class FakeAppService(Resource):
    """The AS's HTTP side.

    Attributes:
        received: every request, in order.
        status: the status transactions and pings get (200: healthy).
        users / aliases: the user IDs and aliases the AS says exist (it
            "creates" them on a query).
        thirdparty: path after /thirdparty/ -> the JSON answered.
    """

    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.received: list[Received] = []
        self.status = 200
        self.users: set[str] = set()
        self.aliases: set[str] = set()
        self.thirdparty: dict[str, Any] = {}
        self.on_query: Any = None
        # Pings are left unanswered (a timeout).
        self.hang_pings = False
        # Pings are answered 302 to this URL.
        self.redirect_pings_to: str | None = None

    def render(self, request: Any) -> bytes:
        parts = urlsplit(request.uri.decode())
        raw = request.content.read()
        body = json.loads(raw) if raw else None
        auth = request.getHeader("authorization")
        got = Received(request.method.decode(), parts.path, parts.query, auth, body)
        self.received.append(got)
        code, answer = self._answer(request.method.decode(), parts.path)
        got.status = code
        if self.hang_pings and parts.path.endswith("/ping"):
            return NOT_DONE_YET  # type: ignore[no-any-return]
        if self.redirect_pings_to and parts.path.endswith("/ping"):
            got.status = 302
            request.setResponseCode(302)
            request.setHeader(b"location", self.redirect_pings_to.encode())
            return b"{}"
        request.setResponseCode(code)
        request.setHeader(b"content-type", b"application/json")
        return json.dumps(answer).encode()

    def _answer(self, method: str, path: str) -> tuple[int, Any]:
        prefix = "/_matrix/app/v1"
        if not path.startswith(prefix):
            return 404, {"errcode": "M_UNRECOGNIZED"}
        path = path[len(prefix) :]
        if path.startswith("/transactions/") or path == "/ping":
            if self.status != 200:
                return self.status, {"errcode": "M_UNKNOWN", "error": "down"}
            return 200, {}
        if path.startswith("/users/"):
            user_id = unquote(path[len("/users/") :])
            if self.on_query is not None:
                self.on_query("user", user_id)
            return (200, {}) if user_id in self.users else (404, {})
        if path.startswith("/rooms/"):
            alias = unquote(path[len("/rooms/") :])
            if self.on_query is not None:
                self.on_query("alias", alias)
            return (200, {}) if alias in self.aliases else (404, {})
        if path.startswith("/thirdparty/"):
            key = unquote(path[len("/thirdparty/") :])
            if key in self.thirdparty:
                return 200, self.thirdparty[key]
            return 404, {"errcode": "M_NOT_FOUND"}
        return 404, {"errcode": "M_UNRECOGNIZED"}

    # -- what tests read ----------------------------------------------------------

    def transactions(self) -> list[Received]:
        """The transaction PUTs, in order (retries included)."""
        return [
            r
            for r in self.received
            if r.path.startswith("/_matrix/app/v1/transactions/")
        ]

    def acknowledged(self) -> list[Received]:
        """One entry per distinct txnId: the first answered 200."""
        seen: dict[str, Received] = {}
        for r in self.transactions():
            if r.status == 200:
                seen.setdefault(r.path, r)
        return list(seen.values())

    def events(self) -> list[dict[str, Any]]:
        """Every event of every distinct transaction, in order."""
        return [e for r in self.acknowledged() for e in r.body.get("events", [])]


class _CountingSite(Site):
    """A Site that counts the connections it accepts."""

    connections = 0

    def buildProtocol(self, addr: Any) -> Any:  # noqa: N802
        self.connections += 1
        return super().buildProtocol(addr)


class AppServiceListener:
    """Serves a ``FakeAppService`` on loopback; ``stop()`` refuses
    connections until ``start()`` listens on the same port again."""

    def __init__(self, reactor: Any, resource: FakeAppService) -> None:
        self.reactor = reactor
        self.resource = resource
        self.port_number = 0
        self._port: Any = None
        self.site = _CountingSite(resource)
        self.start()

    def start(self) -> None:
        self._port = self.reactor.listenTCP(
            self.port_number, self.site, interface="127.0.0.1"
        )
        self.port_number = self._port.getHost().port

    @property
    def connections(self) -> int:
        """TCP connections accepted so far."""
        return self.site.connections

    def stop(self) -> None:
        self._port.stopListening()
        self._port = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port_number}"
