"""GET /v1/rooms/{roomId}/threads: roots by latest activity, include, paging."""

from __future__ import annotations

import pytest

from tests.relations.helpers import bundled, reply_in_thread, threads
from tests.support import Room
from tests.support.server import TestServer


@pytest.fixture
def room(server: TestServer) -> Room:
    alice = server.user("alice")
    bob = server.user("bob")
    room_id = alice.create_room(preset="public_chat")
    bob.join(room_id)
    roots = [alice.send(room_id, f"root {i}") for i in range(3)]
    return Room(room_id, alice, bob, events=roots)


def test_threads_ordered_by_latest_activity(server: TestServer, room: Room) -> None:
    r0, r1, r2 = room.events
    assert threads(room.alice, room.id).json == {"chunk": []}
    reply_in_thread(room.bob, room.id, r0, "a")
    reply_in_thread(room.bob, room.id, r1, "b")
    reply_in_thread(room.alice, room.id, r2, "c")
    reply_in_thread(room.bob, room.id, r0, "d")  # r0 is now the most active
    body = threads(room.alice, room.id).json
    assert [e["event_id"] for e in body["chunk"]] == [r0, r2, r1]
    assert "next_batch" not in body
    summary = bundled(body["chunk"][0])["m.thread"]
    assert summary["count"] == 2
    assert summary["latest_event"]["content"]["body"] == "d"


def test_threads_pagination(server: TestServer, room: Room) -> None:
    for root in room.events:
        reply_in_thread(room.bob, room.id, root, "reply")
    seen: list[str] = []
    token = None
    for _ in range(5):
        body = threads(room.alice, room.id, limit=2, **{"from": token}).json
        seen += [e["event_id"] for e in body["chunk"]]
        token = body.get("next_batch")
        if token is None:
            break
    assert seen == list(reversed(room.events))


def test_threads_participated(server: TestServer, room: Room) -> None:
    r0, r1, r2 = room.events
    carol = server.user("carol")
    carol.join(room.id)
    reply_in_thread(room.bob, room.id, r0, "bob in r0")
    reply_in_thread(carol, room.id, r1, "carol in r1")
    reply_in_thread(room.alice, room.id, r2, "alice in r2")
    mine = threads(room.bob, room.id, include="participated").json["chunk"]
    assert [e["event_id"] for e in mine] == [r0]
    # alice sent every root.
    alices = threads(room.alice, room.id, include="participated").json["chunk"]
    assert [e["event_id"] for e in alices] == [r2, r1, r0]
    bad = threads(room.alice, room.id, include="mine", expect=400).json
    assert bad["errcode"] == "M_INVALID_PARAM"
    for token in ("nonsense", f"{2**63}_$root", "\u0663_$root"):
        bad = threads(room.alice, room.id, expect=400, **{"from": token}).json
        assert bad["errcode"] == "M_INVALID_PARAM"


def test_threads_follow_redactions_and_visibility(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    room_id = alice.create_room(
        preset="public_chat",
        initial_state=[
            {
                "type": "m.room.history_visibility",
                "state_key": "",
                "content": {"history_visibility": "joined"},
            }
        ],
    )
    old_root = alice.send(room_id, "before bob")
    reply_in_thread(alice, room_id, old_root, "old reply")
    bob.join(room_id)
    new_root = alice.send(room_id, "after bob")
    only = reply_in_thread(alice, room_id, new_root, "new reply")
    assert [e["event_id"] for e in threads(bob, room_id).json["chunk"]] == [new_root]
    both = [e["event_id"] for e in threads(alice, room_id).json["chunk"]]
    assert both == [new_root, old_root]
    # Redacting the only reply ends the thread.
    alice.put(f"/rooms/{room_id}/redact/{only}/r1", {}, expect=200)
    assert [e["event_id"] for e in threads(alice, room_id).json["chunk"]] == [old_root]
    stranger = server.user("carol")
    private = alice.create_room()
    assert threads(stranger, private, expect=403).json["errcode"] == "M_FORBIDDEN"
