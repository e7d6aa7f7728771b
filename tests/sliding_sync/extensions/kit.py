"""A sliding-sync connection for the extension tests: the same request body
each time, the last ``pos`` carried along."""

from __future__ import annotations

from typing import Any

from tests.sliding_sync.core.test_sliding_sync import ALL, SS, start_ss
from tests.support.client import User
from tests.support.server import PendingRequest, TestServer

ON = {"enabled": True}


class Conn:
    """One connection of ``user`` asking for ``extensions`` (and by default a
    list ``all`` of every room)."""

    def __init__(
        self,
        user: User,
        extensions: dict[str, Any],
        *,
        lists: dict[str, Any] | None = None,
        subscriptions: dict[str, Any] | None = None,
        conn_id: str | None = None,
    ) -> None:
        self.user = user
        self.body: dict[str, Any] = {
            "lists": {"all": ALL} if lists is None else lists,
            "extensions": extensions,
        }
        if subscriptions:
            self.body["room_subscriptions"] = subscriptions
        if conn_id is not None:
            self.body["conn_id"] = conn_id
        self.pos: str | None = None

    def request_body(self, **changes: Any) -> dict[str, Any]:
        body = {**self.body, **changes}
        if self.pos is not None:
            body["pos"] = self.pos
        return body

    def sync(self, **changes: Any) -> dict[str, Any]:
        """One request (``changes`` replace top-level fields of the body);
        the response's ``extensions``, its ``pos`` kept."""
        resp = self.user.post(SS, self.request_body(**changes), expect=200).json
        self.pos = resp["pos"]
        self.last = resp
        return dict(resp["extensions"])

    def start(self, server: TestServer, timeout_ms: int = 30_000) -> PendingRequest:
        """A long-poll from the last ``pos`` (the caller reads it)."""
        assert self.pos is not None
        return start_ss(server, self.user, self.request_body(), f"timeout={timeout_ms}")

    def finish(self, pending: PendingRequest) -> dict[str, Any]:
        resp = pending.response().json
        self.pos = resp["pos"]
        self.last = resp
        return dict(resp["extensions"])


def share_room(owner: User, *others: User, **create: Any) -> str:
    """A room of ``owner`` that ``others`` joined."""
    room_id = owner.create_room(preset="public_chat", **create)
    for other in others:
        other.join(room_id)
    return room_id


def room_config(limit: int = 1) -> dict[str, Any]:
    return {"timeline_limit": limit, "required_state": []}
