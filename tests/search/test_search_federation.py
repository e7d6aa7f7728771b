"""Search across servers: events received over federation are indexed, and a
redaction received over federation takes its target out of the index."""

from __future__ import annotations

from tests.federation.joined_pair import send_message, shared_room
from tests.federation.pair import FederationPair
from tests.search.helpers import indexed, result_bodies, room_events, search


def test_remote_messages_are_found_and_remote_redactions_unindex(
    pair: FederationPair,
) -> None:
    room = shared_room(pair, pair.a, pair.b)
    pair.pump(0)
    from_a = send_message(room.creator, room.room_id, "greetings from server a")
    pair.pump(0)
    send_message(room.joiner, room.room_id, "greetings from server b")
    pair.pump(0)
    # Each server finds the other's message (received over federation).
    on_b = search(room.joiner, "greetings", order_by="recent")
    assert result_bodies(on_b) == ["greetings from server b", "greetings from server a"]
    assert room_events(on_b)["results"][1]["result"]["sender"] == room.creator.user_id
    on_a = search(room.creator, "server b")
    assert result_bodies(on_a) == ["greetings from server b"]
    assert indexed(pair.b, from_a)
    # alice redacts her message on a: b drops it from its index.
    room.creator.put(f"/rooms/{room.room_id}/redact/{from_a}/r1", {}, expect=200)
    pair.pump(0)
    assert not indexed(pair.a, from_a) and not indexed(pair.b, from_a)
    assert result_bodies(search(room.joiner, "greetings")) == [
        "greetings from server b"
    ]
    assert room_events(search(room.joiner, "greetings"))["count"] == 1
    assert result_bodies(search(room.creator, "greetings")) == [
        "greetings from server b"
    ]
