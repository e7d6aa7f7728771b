"""Receipts (m.read, m.read.private, threads) and read markers (m.fully_read).

Spec: client-server API, "Receipts" and "Read and unread markers".
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import Room, User, q
from tests.support.server import FakeResponse, TestServer
from tests.sync_data.helpers import assert_error, event_ids, finish, token, wait


@pytest.fixture
def room(server: TestServer) -> Room:
    """alice's public room with bob joined, five messages; carol elsewhere."""
    alice = server.user("alice")
    bob = server.user("bob")
    carol = server.user("carol")
    room_id = alice.create_room(preset="public_chat")
    assert bob.membership(room_id, "join").code == 200
    ids = event_ids(alice, room_id, 5)
    return Room(room_id, alice, bob, carol, events=ids)


def receipt(
    user: User,
    room_id: str,
    event_id: str,
    receipt_type: str = "m.read",
    body: Any = None,
) -> FakeResponse:
    return user.post(
        f"/rooms/{q(room_id)}/receipt/{q(receipt_type)}/{q(event_id)}",
        {} if body is None else body,
    )


def receipts_for(
    server: TestServer, user_id: str, rooms: list[str], since: int | None = None
) -> dict[str, Any]:
    return server.get_success(
        server.hs.sync_data.receipts.get_receipts_for_rooms(
            user_id, rooms, since, token(server).get("receipts")
        )
    )


def read_position(server: TestServer, user_id: str, room_id: str) -> int | None:
    return server.get_success(
        server.hs.sync_data.receipts.get_user_read_position(user_id, room_id)
    )


def stream_ordering(server: TestServer, event_id: str) -> int:
    event = server.get_success(server.hs.core.events.get_event(event_id))
    return int(event.stream_ordering)


def fully_read(user: User, user_id: str, room_id: str) -> Any:
    resp = user.get(f"/user/{q(user_id)}/rooms/{q(room_id)}/account_data/m.fully_read")
    return resp.json.get("event_id") if resp.code == 200 else None


# -- POST /receipt -------------------------------------------------------------


def test_read_receipt_is_shown_to_everyone(server: TestServer, room: Room) -> None:
    e2 = room.events[2]
    now = server.hs.core.clock.time_msec()
    assert receipt(room.alice, room.id, e2).code == 200
    expected = {e2: {"m.read": {room.alice.user_id: {"ts": now}}}}
    assert receipts_for(server, room.bob.user_id, [room.id]) == {room.id: expected}
    assert receipts_for(server, room.alice.user_id, [room.id]) == {room.id: expected}


def test_private_receipts_only_reach_their_owner(
    server: TestServer, room: dict
) -> None:
    e1, e3 = room.events[1], room.events[3]
    room_id = room.id
    bob_wait = wait(server, room.bob.user_id, [room_id])
    alice_wait = wait(server, room.alice.user_id, [room_id])
    assert receipt(room.alice, room_id, e3, "m.read.private").code == 200
    assert alice_wait.called
    finish(server, bob_wait)
    assert receipts_for(server, room.bob.user_id, [room_id]) == {}
    mine = receipts_for(server, room.alice.user_id, [room_id])
    assert list(mine[room_id][e3]) == ["m.read.private"]
    # A public receipt alongside it is visible to bob, the private one is not.
    receipt(room.alice, room_id, e1)
    assert receipts_for(server, room.bob.user_id, [room_id]) == {
        room_id: {
            e1: {
                "m.read": {room.alice.user_id: {"ts": server.hs.core.clock.time_msec()}}
            }
        }
    }


def test_unknown_receipt_type_is_400(server: TestServer, room: Room) -> None:
    resp = receipt(room.alice, room.id, room.events[0], "m.nope")
    assert_error(resp, 400, "M_INVALID_PARAM")


def test_must_be_joined(server: TestServer, room: Room) -> None:
    resp = receipt(room.carol, room.id, room.events[0])
    assert_error(resp, 403, "M_FORBIDDEN")
    assert room.bob.membership(room.id, "leave").code == 200
    resp = receipt(room.bob, room.id, room.events[0])
    assert_error(resp, 403, "M_FORBIDDEN")


def test_event_must_be_in_the_room(server: TestServer, room: Room) -> None:
    resp = receipt(room.alice, room.id, "$nope")
    assert_error(resp, 404, "M_NOT_FOUND")
    other = room.alice.create_room()
    (foreign,) = event_ids(room.alice, other, 1)
    assert_error(receipt(room.alice, room.id, foreign), 404, "M_NOT_FOUND")
    assert receipts_for(server, room.alice.user_id, [room.id, other]) == {}


def test_body_may_be_empty_but_must_be_an_object(
    server: TestServer, room: dict
) -> None:
    path = f"/rooms/{q(room.id)}/receipt/m.read/{q(room.events[0])}"
    resp = room.alice.post("/_matrix/client/v3" + path)
    assert resp.code == 200, resp.json
    assert_error(room.alice.post(path, [1]), 400, "M_BAD_JSON")


def test_receipts_never_move_backwards(server: TestServer, room: Room) -> None:
    e1, e3 = room.events[1], room.events[3]
    receipt(room.alice, room.id, e3)
    before = token(server).get("receipts")
    bob_wait = wait(server, room.bob.user_id, [room.id])
    assert receipt(room.alice, room.id, e1).code == 200
    assert receipt(room.alice, room.id, e3).code == 200
    finish(server, bob_wait)
    assert receipts_for(server, room.bob.user_id, [room.id], before) == {}
    content = receipts_for(server, room.bob.user_id, [room.id])[room.id]
    assert list(content) == [e3]


def test_a_receipt_wakes_the_room_not_outsiders(server: TestServer, room: Room) -> None:
    bob_wait = wait(server, room.bob.user_id, [room.id])
    carol_wait = wait(server, room.carol.user_id, [])
    receipt(room.alice, room.id, room.events[4])
    assert bob_wait.called
    finish(server, carol_wait)


def test_incremental_receipts_are_the_changes(server: TestServer, room: Room) -> None:
    room_id, events = room.id, room.events
    p0 = token(server).get("receipts")
    receipt(room.alice, room_id, events[1])
    p1 = token(server).get("receipts")
    receipt(room.bob, room_id, events[2])
    receipt(room.bob, room_id, events[3])
    p2 = token(server).get("receipts")
    assert p0 < p1 < p2
    receipts = server.hs.sync_data.receipts
    first = server.get_success(
        receipts.get_receipts_for_rooms(room.bob.user_id, [room_id], p0, p1)
    )
    assert list(first[room_id]) == [events[1]]
    second = server.get_success(
        receipts.get_receipts_for_rooms(room.bob.user_id, [room_id], p1, p2)
    )
    # bob's receipt moved on within the window: only where it is now shows.
    assert list(second[room_id]) == [events[3]]
    assert second[room_id][events[3]]["m.read"].keys() == {room.bob.user_id}
    empty = server.get_success(
        receipts.get_receipts_for_rooms(room.bob.user_id, [room_id], p2, p2)
    )
    assert empty == {}


# -- threads -------------------------------------------------------------------


def thread_reply(user: User, room_id: str, root: str) -> str:
    resp = user.send_event(
        room_id,
        {
            "msgtype": "m.text",
            "body": "in thread",
            "m.relates_to": {"rel_type": "m.thread", "event_id": root},
        },
    )
    assert resp.code == 200, resp.json
    return str(resp.json["event_id"])


def test_threaded_receipts_are_kept_apart(server: TestServer, room: Room) -> None:
    room_id, events = room.id, room.events
    root = events[0]
    reply = thread_reply(room.alice, room_id, root)
    receipt(room.bob, room_id, events[2])
    receipt(room.bob, room_id, events[3], body={"thread_id": "main"})
    receipt(room.bob, room_id, reply, body={"thread_id": root})
    content = receipts_for(server, room.alice.user_id, [room_id])[room_id]
    ts = server.hs.core.clock.time_msec()
    assert content == {
        events[2]: {"m.read": {room.bob.user_id: {"ts": ts}}},
        events[3]: {"m.read": {room.bob.user_id: {"ts": ts, "thread_id": "main"}}},
        reply: {"m.read": {room.bob.user_id: {"ts": ts, "thread_id": root}}},
    }


@pytest.mark.parametrize("thread_id", ["", 5, None, ["main"], "not-an-event"])
def test_bad_thread_ids_are_400(server: TestServer, room: Room, thread_id: Any) -> None:
    resp = receipt(room.alice, room.id, room.events[0], body={"thread_id": thread_id})
    assert_error(resp, 400, "M_INVALID_PARAM")


def test_thread_id_must_match_the_events_thread(server: TestServer, room: Room) -> None:
    room_id, root = room.id, room.events[0]
    reply = thread_reply(room.alice, room_id, root)
    for thread_id in ("main", room.events[1]):
        resp = receipt(room.bob, room_id, reply, body={"thread_id": thread_id})
        assert_error(resp, 400, "M_INVALID_PARAM")


def test_no_thread_id_for_fully_read(server: TestServer, room: Room) -> None:
    resp = receipt(
        room.alice,
        room.id,
        room.events[0],
        "m.fully_read",
        {"thread_id": "main"},
    )
    assert_error(resp, 400, "M_INVALID_PARAM")


# -- read position (for unread counts) ----------------------------------------


def test_read_position_is_the_newest_room_wide_read_receipt(
    server: TestServer, room: dict
) -> None:
    room_id, events = room.id, room.events
    bob = room.bob.user_id
    assert read_position(server, bob, room_id) is None
    receipt(room.bob, room_id, events[1])
    assert read_position(server, bob, room_id) == stream_ordering(server, events[1])
    receipt(room.bob, room_id, events[3], "m.read.private")
    assert read_position(server, bob, room_id) == stream_ordering(server, events[3])
    # A public receipt behind the private one does not rewind the position.
    receipt(room.bob, room_id, events[2])
    assert read_position(server, bob, room_id) == stream_ordering(server, events[3])
    receipt(room.bob, room_id, events[4], body={"thread_id": "main"})
    assert read_position(server, bob, room_id) == stream_ordering(server, events[4])
    # A receipt inside a thread says nothing about the main timeline.
    reply = thread_reply(room.alice, room_id, events[0])
    receipt(room.bob, room_id, reply, body={"thread_id": events[0]})
    assert read_position(server, bob, room_id) == stream_ordering(server, events[4])
    assert read_position(server, room.alice.user_id, room_id) is None


# -- read markers ----------------------------------------------------------------


def markers(user: User, room_id: str, body: Any) -> FakeResponse:
    return user.post(f"/rooms/{q(room_id)}/read_markers", body)


def test_read_markers_set_all_three(server: TestServer, room: Room) -> None:
    room_id, events, bob = room.id, room.events, room.bob.user_id
    before = token(server)
    bob_wait = wait(server, bob)
    resp = markers(
        room.bob,
        room_id,
        {"m.fully_read": events[1], "m.read": events[2], "m.read.private": events[3]},
    )
    assert resp.code == 200, resp.json
    assert bob_wait.called
    assert fully_read(room.bob, bob, room_id) == events[1]
    mine = receipts_for(server, bob, [room_id])[room_id]
    assert set(mine) == {events[2], events[3]}
    assert receipts_for(server, room.alice.user_id, [room_id])[room_id].keys() == {
        events[2]
    }
    after = token(server)
    assert after.get("account_data") > before.get("account_data")
    assert after.get("receipts") > before.get("receipts")
    changes = server.get_success(
        server.hs.sync_data.account_data.get_room_account_data(
            bob, [room_id], before.get("account_data"), after.get("account_data")
        )
    )
    assert changes == {
        room_id: [{"type": "m.fully_read", "content": {"event_id": events[1]}}]
    }


def test_fully_read_through_the_receipt_endpoint(
    server: TestServer, room: dict
) -> None:
    room_id, events = room.id, room.events
    resp = receipt(room.alice, room_id, events[2], "m.fully_read")
    assert resp.code == 200, resp.json
    assert fully_read(room.alice, room.alice.user_id, room_id) == events[2]
    # It is account data, not a receipt.
    assert receipts_for(server, room.alice.user_id, [room_id]) == {}


def test_fully_read_never_moves_backwards(server: TestServer, room: Room) -> None:
    room_id, events, alice = room.id, room.events, room.alice.user_id
    markers(room.alice, room_id, {"m.fully_read": events[3]})
    markers(room.alice, room_id, {"m.fully_read": events[1]})
    assert fully_read(room.alice, alice, room_id) == events[3]
    markers(room.alice, room_id, {"m.fully_read": events[4]})
    assert fully_read(room.alice, alice, room_id) == events[4]


def test_read_markers_errors(server: TestServer, room: Room) -> None:
    room_id, events = room.id, room.events
    resp = markers(room.carol, room_id, {"m.fully_read": events[0]})
    assert_error(resp, 403, "M_FORBIDDEN")
    resp = markers(room.alice, room_id, {"m.fully_read": 5})
    assert_error(resp, 400, "M_BAD_JSON")
    # One bad event and nothing is written.
    resp = markers(
        room.alice,
        room_id,
        {"m.fully_read": events[0], "m.read": "$nope"},
    )
    assert_error(resp, 404, "M_NOT_FOUND")
    assert fully_read(room.alice, room.alice.user_id, room_id) is None
    assert markers(room.alice, room_id, {}).code == 200


def test_fully_read_cannot_be_set_as_account_data(
    server: TestServer, room: dict
) -> None:
    path = f"/user/{q(room.alice.user_id)}/rooms/{q(room.id)}/account_data/m.fully_read"
    resp = room.alice.put(path, {"event_id": room.events[0]})
    assert_error(resp, 405, "M_BAD_JSON")
