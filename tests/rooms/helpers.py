"""Helpers for room tests: create rooms, send events, read state through the services."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from tests.harness import FakeResponse, TestServer

CLIENT = "/_matrix/client/v3"


def create_room(server: TestServer, token: str, **body: Any) -> str:
    resp = server.request("POST", f"{CLIENT}/createRoom", body, token=token)
    assert resp.code == 200, resp.json
    return str(resp.json["room_id"])


def send(
    server: TestServer,
    token: str,
    room_id: str,
    body: dict[str, Any],
    event_type: str = "m.room.message",
    txn_id: str | None = None,
) -> FakeResponse:
    send.counter += 1  # type: ignore[attr-defined]
    txn = txn_id or f"t{send.counter}"  # type: ignore[attr-defined]
    return server.request(
        "PUT", f"{CLIENT}/rooms/{room_id}/send/{event_type}/{txn}", body, token=token
    )


send.counter = 0  # type: ignore[attr-defined]


def put_state(
    server: TestServer,
    token: str,
    room_id: str,
    event_type: str,
    body: dict[str, Any],
    state_key: str = "",
) -> FakeResponse:
    return server.request(
        "PUT",
        f"{CLIENT}/rooms/{room_id}/state/{event_type}/{state_key}",
        body,
        token=token,
    )


def membership(
    server: TestServer, token: str, room_id: str, action: str, **body: Any
) -> FakeResponse:
    return server.request(
        "POST", f"{CLIENT}/rooms/{room_id}/{action}", body, token=token
    )


def current_state(
    server: TestServer, room_id: str
) -> dict[tuple[str, str], dict[str, Any]]:
    """(type, state_key) -> content, straight from the services."""
    ids = server.get_success(server.hs.core.room_state.get_current_state_ids(room_id))
    events = server.get_success(server.hs.core.events.get_events(list(ids.values())))
    return {key: events[eid].content for key, eid in ids.items()}


def member_of(server: TestServer, room_id: str, user_id: str) -> str | None:
    found = server.get_success(
        server.hs.core.room_state.get_membership(room_id, user_id)
    )
    return found[0] if found else None


def join_via(server: TestServer, token: str, room: str, via: str | None = None) -> Any:
    """POST /join/{roomIdOrAlias}, through ``via`` when given; the response."""
    path = f"{CLIENT}/join/{quote(room, safe='')}" + (f"?via={via}" if via else "")
    return server.request("POST", path, {}, token=token)


def sync(server: TestServer, token: str, since: str | None = None) -> dict[str, Any]:
    """A /sync (incremental from ``since`` when given); its body."""
    path = f"{CLIENT}/sync" + (f"?since={quote(since, safe='')}" if since else "")
    resp = server.request("GET", path, token=token)
    assert resp.code == 200, resp.json
    return resp.json  # type: ignore[no-any-return]
