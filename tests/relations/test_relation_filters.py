"""RoomEventFilter related_by_rel_types and related_by_senders, in /messages
and /sync (applied before the limit)."""

from __future__ import annotations

from typing import Any

from tests.relations.helpers import react, reference, reply_in_thread
from tests.support import timeline
from tests.support.server import TestServer


def ids(events: list[dict[str, Any]]) -> list[str]:
    return [e["event_id"] for e in events]


def test_related_by_filters(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    room_id = alice.create_room(preset="public_chat")
    bob.join(room_id)
    threaded = alice.send(room_id, "threaded")
    reacted = alice.send(room_id, "reacted")
    referenced = alice.send(room_id, "referenced")
    for i in range(5):
        alice.send(room_id, f"plain {i}")
    reply_in_thread(bob, room_id, threaded, "reply")
    react(alice, room_id, reacted, "👍", expect=200)
    reference(bob, room_id, referenced, "see")

    def messages(event_filter: dict[str, Any]) -> list[str]:
        chunk = alice.messages(room_id, limit=2, filter=event_filter).json["chunk"]
        return ids(chunk)

    assert messages({"related_by_rel_types": ["m.thread"]}) == [threaded]
    assert messages({"related_by_rel_types": ["m.thread", "m.annotation"]}) == [
        reacted,
        threaded,
    ]
    assert messages({"related_by_senders": [bob.user_id]}) == [referenced, threaded]
    assert messages(
        {"related_by_senders": [bob.user_id], "related_by_rel_types": ["m.reference"]}
    ) == [referenced]
    assert messages({"related_by_rel_types": []}) == []
    bad = alice.messages(
        room_id, filter={"related_by_senders": ["not a user"]}, expect=400
    )
    assert bad.json["errcode"] == "M_BAD_JSON"
    # /sync: the limit applies after the filter.
    sync_filter = {
        "room": {"timeline": {"limit": 2, "related_by_rel_types": ["m.thread"]}}
    }
    synced = timeline(alice.sync(filter=sync_filter), room_id)
    assert ids(synced) == [threaded]
