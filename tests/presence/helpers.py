"""Helpers for presence tests: set and read presence, make users share a room."""

from __future__ import annotations

from typing import Any

from homeserver.api.http.site import HomeserverSite
from homeserver.composition import build_homeserver
from homeserver.storage.database import inline_runner
from tests.harness import TEST_SIGNING_KEY, FakeResponse, TestServer
from tests.rooms.helpers import CLIENT, create_room, membership


def put_presence(
    server: TestServer, token: str, user_id: str, body: Any
) -> FakeResponse:
    return server.request(
        "PUT", f"{CLIENT}/presence/{user_id}/status", body, token=token
    )


def get_presence(server: TestServer, token: str, user_id: str) -> FakeResponse:
    return server.request("GET", f"{CLIENT}/presence/{user_id}/status", token=token)


def status(server: TestServer, token: str, user_id: str) -> dict[str, Any]:
    """GET /presence/{userId}/status, which must succeed."""
    resp = get_presence(server, token, user_id)
    assert resp.code == 200, resp.json
    return dict(resp.json)


def shared_room(server: TestServer, *users: tuple[str, str]) -> str:
    """A public room created by the first user and joined by the others."""
    room_id = create_room(server, users[0][1], preset="public_chat")
    for _, token in users[1:]:
        resp = membership(server, token, room_id, "join")
        assert resp.code == 200, resp.json
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
