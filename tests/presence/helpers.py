"""Helpers for presence tests: set and read presence, make users share a room."""

from __future__ import annotations

from typing import Any

from homeserver.api.http.site import HomeserverSite
from homeserver.composition import build_homeserver
from homeserver.storage.database import inline_runner
from tests.support import FakeResponse, TestServer, User
from tests.support.server import TEST_SIGNING_KEY


def put_presence(user: User, user_id: str, body: Any) -> FakeResponse:
    return user.put(f"/presence/{user_id}/status", body)


def get_presence(user: User, user_id: str) -> FakeResponse:
    return user.get(f"/presence/{user_id}/status")


def status(user: User, user_id: str) -> dict[str, Any]:
    """GET /presence/{userId}/status, which must succeed."""
    return dict(user.get(f"/presence/{user_id}/status", expect=200).json)


def shared_room(*users: User) -> str:
    """A public room created by the first user and joined by the others."""
    room_id = users[0].create_room(preset="public_chat")
    for user in users[1:]:
        user.join(room_id)
    return room_id


def position(server: TestServer) -> int:
    """The presence stream's current position."""
    return int(server.hs.core.notifier.current_token().get("presence"))


def read_changes(
    server: TestServer, user_id: str, since: int | None, upto: int | None = None
) -> dict[str, dict[str, Any]]:
    """The sync read API's events, as sender -> content."""
    events = server.get_success(
        server.hs.presence.service.get_presence_for_user(
            user_id, since, position(server) if upto is None else upto
        )
    )
    assert all(e["type"] == "m.presence" for e in events)
    return {e["sender"]: e["content"] for e in events}


def restart(server: TestServer) -> None:
    """Replace the server with a new one on the same database and clock."""
    server.hs.presence.service.stop()
    server.hs = build_homeserver(
        config=server.config,
        data_dir=server.hs.data_dir,
        reactor=server.reactor,
        db=server.db,
        blocking_runner=inline_runner,
        signing_key=TEST_SIGNING_KEY,
    )
    server.get_success(server.hs.setup())
    server.site = HomeserverSite(
        server.hs.build_resource(["client"]),
        int(server.config.http.max_request_body_size),
        server.reactor,
    )
