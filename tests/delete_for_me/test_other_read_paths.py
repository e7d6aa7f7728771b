"""Hidden events and ignored users' events are left out of the other read
paths too: /relations, /threads, bundled aggregations, search, the legacy
/events stream and /initialSync."""

from __future__ import annotations

from typing import Any

import pytest

from tests.delete_for_me.test_delete_for_me import hide, unhide
from tests.ignore.test_ignore import ignore
from tests.relations.helpers import edit, relations, reply_in_thread, threads
from tests.search.helpers import result_bodies, search
from tests.support import Room, bodies
from tests.support.server import TestServer


@pytest.fixture
def room(server: TestServer) -> Room:
    alice = server.user("alice")
    bob = server.user("bob")
    carol = server.user("carol")
    room_id = alice.create_room(preset="public_chat")
    bob.join(room_id)
    carol.join(room_id)
    root = alice.send(room_id, "root")
    return Room(room_id, alice, bob, carol, events=[root])


def _ids(chunk: list[dict[str, Any]]) -> list[str]:
    return [e["event_id"] for e in chunk]


def _bundled(event: dict[str, Any]) -> Any:
    return event.get("unsigned", {}).get("m.relations", {})


def _thread(event: dict[str, Any]) -> Any:
    return _bundled(event).get("m.thread")


def test_relations_threads_and_aggregations(room: Room) -> None:
    alice, bob, carol = room.alice, room.bob, room.carol
    assert carol is not None
    root = room.events[0]
    by_bob = reply_in_thread(bob, room.id, root, "from bob")
    by_carol = reply_in_thread(carol, room.id, root, "from carol")
    hidden = reply_in_thread(carol, room.id, root, "hidden by alice")
    hide(alice, room.id, hidden)
    ignore(alice, bob)
    chunk = relations(alice, room.id, root, "m.thread").json["chunk"]
    assert _ids(chunk) == [by_carol]
    # The aggregation agrees: one reply, the latest one alice sees.
    thread = _thread(alice.event(room.id, root, expect=200).json)
    assert thread["count"] == 1
    assert thread["latest_event"]["event_id"] == by_carol
    # Nobody else is affected.
    assert _ids(relations(bob, room.id, root, "m.thread").json["chunk"]) == [
        hidden,
        by_carol,
        by_bob,
    ]
    assert _thread(bob.event(room.id, root).json)["count"] == 3
    # A hidden edit is not applied for the one who hid it.
    carols = carol.send(room.id, "carol's message")
    fix = edit(carol, room.id, carols, "carol's edit", expect=200).json["event_id"]
    replace = _bundled(alice.event(room.id, carols).json)["m.replace"]
    assert replace["event_id"] == fix
    hide(alice, room.id, fix)
    assert "m.replace" not in _bundled(alice.event(room.id, carols).json)
    assert _bundled(bob.event(room.id, carols).json)["m.replace"]["event_id"] == fix
    # Undo brings the reply back.
    ignore(alice)
    unhide(alice, room.id, hidden)
    assert hidden in _ids(relations(alice, room.id, root, "m.thread").json["chunk"])


def test_threads_list_leaves_out_hidden_roots(room: Room) -> None:
    alice, bob = room.alice, room.bob
    root = room.events[0]
    other = bob.send(room.id, "another root")
    reply_in_thread(alice, room.id, root, "r1")
    reply_in_thread(alice, room.id, other, "r2")
    assert _ids(threads(alice, room.id).json["chunk"]) == [other, root]
    hide(alice, room.id, root)
    assert _ids(threads(alice, room.id).json["chunk"]) == [other]
    ignore(alice, bob)
    assert _ids(threads(alice, room.id).json["chunk"]) == []
    assert _ids(threads(bob, room.id).json["chunk"]) == [other, root]


def test_search_results(room: Room) -> None:
    alice, bob = room.alice, room.bob
    bob.send(room.id, "findme from bob")
    mine = alice.send(room.id, "findme from alice")
    alice.send(room.id, "findme again")
    hide(alice, room.id, mine)
    ignore(alice, bob)
    assert result_bodies(search(alice, "findme")) == ["findme again"]
    assert sorted(result_bodies(search(bob, "findme"))) == [
        "findme again",
        "findme from alice",
        "findme from bob",
    ]


def test_legacy_event_stream_and_initial_sync(server: TestServer, room: Room) -> None:
    alice, bob, carol = room.alice, room.bob, room.carol
    assert carol is not None
    ignore(alice, bob)
    start = alice.sync()["next_batch"]
    bob.send(room.id, "ignored")
    shown = carol.send(room.id, "shown")
    hidden = carol.send(room.id, "hidden")
    hide(alice, room.id, hidden)
    resp = server.request(
        "GET", f"/_matrix/client/v3/events?from={start}&timeout=0", token=alice.token
    )
    assert resp.code == 200, resp.json
    assert bodies(resp.json["chunk"]) == ["shown"]
    assert resp.json["chunk"][0]["event_id"] == shown
    single = server.request(
        "GET", f"/_matrix/client/v3/events/{hidden}", token=alice.token
    )
    assert single.code == 404
    # /initialSync: the same messages, and no invite from an ignored user.
    invite_room = bob.create_room()
    bob.invite(invite_room, alice.user_id)
    body = alice.get("/initialSync", limit=10, expect=200).json
    rooms = {r["room_id"]: r for r in body["rooms"]}
    assert invite_room not in rooms
    messages = bodies(rooms[room.id]["messages"]["chunk"])
    assert "ignored" not in messages and "hidden" not in messages
    assert "shown" in messages
