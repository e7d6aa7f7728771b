"""Sync filters: bugs an independent conformance run found (issue 11, item 12).

The filter's types and senders apply before its limit, ``limit: 0`` is a
valid limit, and filters naming malformed room or user IDs are refused.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import CLIENT, bodies, event_types
from tests.support.server import TestServer


def _messages_only(limit: int) -> dict[str, Any]:
    return {"room": {"timeline": {"limit": limit, "types": ["m.room.message"]}}}


def test_types_apply_before_the_limit(server: TestServer) -> None:
    """Three messages then a topic change, filtered to messages with limit 2,
    give the last two messages (not one)."""
    alice = server.user("alice")
    room_id = alice.create_room()
    for text in ("one", "two", "three"):
        alice.send(room_id, text)
    alice.put_state(room_id, "m.room.topic", {"topic": "t"}, expect=200)
    room = alice.sync(filter=_messages_only(2))["rooms"]["join"][room_id]
    assert bodies(room["timeline"]["events"]) == ["two", "three"]
    assert room["timeline"]["limited"] is True


def test_wildcard_types_apply_before_the_limit(server: TestServer) -> None:
    alice = server.user("alice")
    room_id = alice.create_room()
    alice.send(room_id, "only")
    for i in range(12):
        alice.send_event(room_id, {"i": i}, "a.made.up.filler.type")
    flt = {"room": {"timeline": {"limit": 1, "types": ["m.room.mess*"]}}}
    first = alice.sync(filter=flt)
    events = first["rooms"]["join"][room_id]["timeline"]["events"]
    assert bodies(events) == ["only"]
    # Incremental: the fillers after the token do not use up the limit either.
    alice.send(room_id, "later")
    for i in range(12):
        alice.send_event(room_id, {"i": i}, "a.made.up.filler.type")
    later = alice.sync(first["next_batch"], filter=_messages_only(1))
    assert bodies(later["rooms"]["join"][room_id]["timeline"]["events"]) == ["later"]


def test_wildcard_not_types_apply_before_the_limit(server: TestServer) -> None:
    alice = server.user("alice")
    room_id = alice.create_room()
    for text in ("one", "two", "three"):
        alice.send(room_id, text)
    for i in range(5):
        alice.send_event(room_id, {"i": i}, "org.noise.tick")
    flt = {"room": {"timeline": {"limit": 2, "not_types": ["org.noise.*"]}}}
    events = alice.sync(filter=flt)["rooms"]["join"][room_id]["timeline"]["events"]
    assert bodies(events) == ["two", "three"]
    # The same through /messages, with a prefix pattern in types.
    page = alice.messages(
        room_id, limit=2, filter={"types": ["m.room.mess*"]}, expect=200
    ).json
    assert bodies(page["chunk"]) == ["three", "two"]


def test_a_filtered_timeline_never_exceeds_its_limit(server: TestServer) -> None:
    alice = server.user("alice")
    room_id = alice.create_room()
    for i in range(5):
        alice.send(room_id, str(i))
    flt = {"room": {"timeline": {"limit": 3, "not_types": ["m.room.member"]}}}
    events = alice.sync(filter=flt)["rooms"]["join"][room_id]["timeline"]["events"]
    assert bodies(events) == ["2", "3", "4"]
    assert "m.room.member" not in event_types(events)


def test_timeline_limit_zero_is_accepted(server: TestServer) -> None:
    alice = server.user("alice")
    room_id = alice.create_room(name="Zero")
    alice.send(room_id, "hello")
    flt = {"room": {"timeline": {"limit": 0}}}
    alice.post(f"{CLIENT}/user/{alice.user_id}/filter", flt, expect=200)
    room = alice.sync(filter=flt)["rooms"]["join"][room_id]
    assert room["timeline"]["events"] == []
    assert room["timeline"]["limited"] is True
    # The state block still carries the room's state.
    assert "m.room.name" in event_types(room["state"]["events"])


@pytest.mark.parametrize(
    "definition",
    [
        {"room": {"rooms": ["not-a-room"]}},
        {"room": {"not_rooms": ["!bad room:test"]}},
        {"room": {"timeline": {"rooms": ["#alias:test"]}}},
        {"room": {"timeline": {"senders": ["alice"]}}},
        {"room": {"state": {"not_senders": ["@alice"]}}},
        {"presence": {"senders": ["@:"]}},
        {"room": {"timeline": {"limit": -1}}},
    ],
)
def test_malformed_ids_in_filters_are_refused(
    server: TestServer, definition: dict[str, Any]
) -> None:
    alice = server.user("alice")
    resp = alice.post(f"{CLIENT}/user/{alice.user_id}/filter", definition, expect=400)
    assert resp.json["errcode"] == "M_BAD_JSON"
    resp = alice.get("/sync", filter=definition, expect=400)
    assert resp.json["errcode"] == "M_BAD_JSON"


def test_well_formed_ids_in_filters_are_accepted(server: TestServer) -> None:
    alice = server.user("alice")
    definition = {
        "room": {
            "rooms": ["!abc:test", "!AbCdEf0123456789_-xyz"],
            "timeline": {"senders": ["@bob:other.example:8448"]},
        }
    }
    alice.post(f"{CLIENT}/user/{alice.user_id}/filter", definition, expect=200)


LAZY = {"room": {"state": {"lazy_load_members": True}, "timeline": {"limit": 3}}}


def _members(room: dict[str, Any]) -> set[str]:
    return {
        e["state_key"] for e in room["state"]["events"] if e["type"] == "m.room.member"
    }


def test_lazy_loaded_members_in_a_gapped_incremental_sync(server: TestServer) -> None:
    """A limited incremental sync carries the member events of the timeline's
    senders, even those whose membership did not change since the token."""
    alice = server.user("alice")
    bob = server.user("bob")
    carol = server.user("carol")
    room_id = alice.create_room(preset="public_chat")
    bob.join(room_id)
    carol.join(room_id)
    since = alice.sync(filter=LAZY)["next_batch"]
    for i in range(5):
        alice.send(room_id, str(i))
    bob.send(room_id, "from bob")
    carol.send(room_id, "from carol")
    room = alice.sync(since, filter=LAZY)["rooms"]["join"][room_id]
    assert room["timeline"]["limited"] is True
    assert bodies(room["timeline"]["events"]) == ["4", "from bob", "from carol"]
    assert {bob.user_id, carol.user_id} <= _members(room)


def test_lazy_loaded_members_in_an_ungapped_incremental_sync(
    server: TestServer,
) -> None:
    """A sender whose member event the client was never sent (lazy loading
    left it out) gets it with their first event in an incremental sync."""
    alice = server.user("alice")
    bob = server.user("bob")
    room_id = alice.create_room(preset="public_chat")
    bob.join(room_id)
    for i in range(4):
        alice.send(room_id, str(i))
    first = alice.sync(filter=LAZY)
    assert bob.user_id not in _members(first["rooms"]["join"][room_id])
    bob.send(room_id, "hello")
    room = alice.sync(first["next_batch"], filter=LAZY)["rooms"]["join"][room_id]
    assert room["timeline"]["limited"] is False
    assert bob.user_id in _members(room)
