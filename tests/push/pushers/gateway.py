"""A real small push gateway on loopback (push gateway API v1.19,
``POST /_matrix/push/v1/notify``): it records every notification, answers
with a chosen status, and lists chosen pushkeys as ``rejected``. Served by
the appservice kit's listener (it can be taken down and brought back on the
same port, and counts connections)."""

from __future__ import annotations

import json
from typing import Any

import attrs
from twisted.web.resource import Resource

NOTIFY_PATH = "/_matrix/push/v1/notify"


@attrs.define
class Pushed:
    """One request the gateway got, and the status it answered."""

    path: str
    body: Any
    status: int

    @property
    def notification(self) -> dict[str, Any]:
        return dict(self.body["notification"])


class FakePushGateway(Resource):
    """Attributes:
    received: every request, in order.
    status: the status answered (200: healthy).
    rejected: pushkeys answered as ``rejected``.
    redirect_to: when set, notifications are answered 307 to this URL.
    """

    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.received: list[Pushed] = []
        self.status = 200
        self.rejected: set[str] = set()
        self.redirect_to: str | None = None

    def render(self, request: Any) -> bytes:
        path = request.path.decode()
        body = json.loads(request.content.read() or b"null")
        status = self.status if path == NOTIFY_PATH else 404
        if self.redirect_to is not None and path == NOTIFY_PATH:
            status = 307
            request.setHeader(b"location", self.redirect_to.encode())
        self.received.append(Pushed(path, body, status))
        request.setResponseCode(status)
        request.setHeader(b"content-type", b"application/json")
        if status != 200:
            return b'{"errcode": "M_UNKNOWN"}'
        pushkeys = [d["pushkey"] for d in body["notification"]["devices"]]
        return json.dumps(
            {"rejected": [k for k in pushkeys if k in self.rejected]}
        ).encode()

    def delivered(self) -> list[dict[str, Any]]:
        """The notifications answered 200, in order."""
        return [p.notification for p in self.received if p.status == 200]

    def for_event(self, event_id: str) -> list[Pushed]:
        """Every request about one event (retries included)."""
        return [
            p
            for p in self.received
            if p.body["notification"].get("event_id") == event_id
        ]
