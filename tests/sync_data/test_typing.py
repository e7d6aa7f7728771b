"""Typing notifications: HTTP, timeouts, kept on send, the typing stream.

Spec: client-server API, "Typing Notifications".
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import Room, User, q
from tests.support.server import FakeResponse, TestServer
from tests.sync_data.helpers import assert_error, finish, token, wait


@pytest.fixture
def room(server: TestServer) -> Room:
    alice = server.user("alice")
    bob = server.user("bob")
    carol = server.user("carol")
    room_id = alice.create_room(preset="public_chat")
    assert bob.membership(room_id, "join").code == 200
    return Room(room_id, alice, bob, carol)


def set_typing(user: User, room_id: str, user_id: str, body: Any) -> FakeResponse:
    return user.put(f"/rooms/{q(room_id)}/typing/{q(user_id)}", body)


def typing_in(
    server: TestServer, rooms: list[str], since: int | None = None
) -> dict[str, Any]:
    return server.hs.sync_data.typing.get_typing_for_rooms(rooms, since)


def typists(server: TestServer, room_id: str) -> list[str]:
    return typing_in(server, [room_id]).get(room_id, {}).get("user_ids", [])


def test_start_and_stop_typing(server: TestServer, room: Room) -> None:
    room_id = room.id
    assert typing_in(server, [room_id]) == {}
    resp = set_typing(
        room.alice,
        room_id,
        room.alice.user_id,
        {"typing": True, "timeout": 30000},
    )
    assert resp.code == 200 and resp.json == {}
    set_typing(room.bob, room_id, room.bob.user_id, {"typing": True})
    assert typing_in(server, [room_id]) == {
        room_id: {"user_ids": sorted([room.alice.user_id, room.bob.user_id])}
    }
    set_typing(room.alice, room_id, room.alice.user_id, {"typing": False})
    assert typists(server, room_id) == [room.bob.user_id]


def test_typing_wakes_the_room_only(server: TestServer, room: Room) -> None:
    bob_wait = wait(server, room.bob.user_id, [room.id])
    carol_wait = wait(server, room.carol.user_id, [])
    set_typing(room.alice, room.id, room.alice.user_id, {"typing": True})
    assert bob_wait.called
    finish(server, carol_wait)


def test_timeout_expires(server: TestServer, room: Room) -> None:
    room_id = room.id
    set_typing(
        room.alice,
        room_id,
        room.alice.user_id,
        {"typing": True, "timeout": 10000},
    )
    position = token(server).get("typing")
    server.advance(9)
    assert typists(server, room_id) == [room.alice.user_id]
    bob_wait = wait(server, room.bob.user_id, [room_id])
    server.advance(2)
    assert typists(server, room_id) == []
    assert bob_wait.called
    assert token(server).get("typing") > position
    # The change is an empty list for clients that saw alice typing.
    assert typing_in(server, [room_id], position) == {room_id: {"user_ids": []}}


def test_default_and_capped_timeouts(server: TestServer, room: Room) -> None:
    room_id = room.id
    set_typing(room.alice, room_id, room.alice.user_id, {"typing": True})
    set_typing(
        room.bob,
        room_id,
        room.bob.user_id,
        {"typing": True, "timeout": 10**9},
    )
    server.advance(29)
    assert typists(server, room_id) == sorted([room.alice.user_id, room.bob.user_id])
    server.advance(2)
    assert typists(server, room_id) == [room.bob.user_id]
    server.advance(88)
    assert typists(server, room_id) == [room.bob.user_id]
    server.advance(2)
    assert typists(server, room_id) == []


def test_renewing_moves_the_timer_not_the_stream(
    server: TestServer, room: dict
) -> None:
    room_id, alice = room.id, room.alice.user_id
    set_typing(room.alice, room_id, alice, {"typing": True, "timeout": 5000})
    position = token(server).get("typing")
    server.advance(4)
    set_typing(room.alice, room_id, alice, {"typing": True, "timeout": 5000})
    assert token(server).get("typing") == position
    server.advance(4)
    assert typists(server, room_id) == [alice]
    server.advance(2)
    assert typists(server, room_id) == []


def test_stopping_when_not_typing_changes_nothing(
    server: TestServer, room: dict
) -> None:
    position = token(server).get("typing")
    bob_wait = wait(server, room.bob.user_id, [room.id])
    resp = set_typing(room.alice, room.id, room.alice.user_id, {"typing": False})
    assert resp.code == 200
    assert token(server).get("typing") == position
    finish(server, bob_wait)


def test_sending_a_message_does_not_stop_typing(server: TestServer, room: Room) -> None:
    """As Synapse (and the spec, where the client says when it stops): a
    message does not end its sender's typing, so bob's /sync sees alice
    typing after she sent one."""
    room_id = room.id
    since = room.bob.sync()["next_batch"]
    set_typing(room.alice, room_id, room.alice.user_id, {"typing": True})
    assert (
        room.alice.send_event(room_id, {"msgtype": "m.text", "body": "hi"}).code == 200
    )
    assert typists(server, room_id) == [room.alice.user_id]
    body = room.bob.sync(since)
    ephemeral = body["rooms"]["join"][room_id]["ephemeral"]["events"]
    assert {"type": "m.typing", "content": {"user_ids": [room.alice.user_id]}} in [
        {k: e[k] for k in ("type", "content")} for e in ephemeral
    ]


def test_leaving_stops_typing(server: TestServer, room: Room) -> None:
    room_id = room.id
    set_typing(room.bob, room_id, room.bob.user_id, {"typing": True})
    assert room.bob.membership(room_id, "leave").code == 200
    assert typists(server, room_id) == []


def test_typing_errors(server: TestServer, room: Room) -> None:
    room_id = room.id
    resp = set_typing(room.alice, room_id, room.bob.user_id, {"typing": True})
    assert_error(resp, 403, "M_FORBIDDEN")
    resp = set_typing(room.carol, room_id, room.carol.user_id, {"typing": True})
    assert_error(resp, 403, "M_FORBIDDEN")
    resp = set_typing(room.carol, "!unknown:test", room.carol.user_id, {"typing": True})
    assert_error(resp, 403, "M_FORBIDDEN")
    # Spec "Common error codes": an absent required field is M_MISSING_PARAM,
    # a value out of range M_INVALID_PARAM, a wrong type M_BAD_JSON.
    for body, errcode in (
        ({}, "M_MISSING_PARAM"),
        ({"typing": "yes"}, "M_BAD_JSON"),
        ({"typing": True, "timeout": -1}, "M_INVALID_PARAM"),
        ({"typing": True, "timeout": "30000"}, "M_BAD_JSON"),
        ({"typing": True, "timeout": 1.5}, "M_BAD_JSON"),
        ({"typing": True, "timeout": None}, "M_BAD_JSON"),
    ):
        resp = set_typing(room.alice, room_id, room.alice.user_id, body)
        assert_error(resp, 400, errcode)
    assert typists(server, room_id) == []


def test_incremental_typing_lists_only_changed_rooms(
    server: TestServer, room: dict
) -> None:
    room1 = room.id
    room2 = room.alice.create_room()
    set_typing(room.alice, room1, room.alice.user_id, {"typing": True})
    p1 = token(server).get("typing")
    set_typing(room.alice, room2, room.alice.user_id, {"typing": True})
    assert typing_in(server, [room1, room2], p1) == {
        room2: {"user_ids": [room.alice.user_id]}
    }
    assert typing_in(server, [room1, room2], token(server).get("typing")) == {}
    # Initial sync: every room with someone typing.
    assert set(typing_in(server, [room1, room2])) == {room1, room2}
    # A position from the future (typing restarts at 0 with the server) is
    # read as an initial sync.
    assert set(typing_in(server, [room1, room2], 10**6)) == {room1, room2}
