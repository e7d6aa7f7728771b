"""Search across servers: events received over federation are indexed, and a
redaction received over federation takes its target out of the index (also
when it arrives before its target)."""

from __future__ import annotations

from homeserver.events.model import EventTypes
from tests.federation.joined_pair import join_from, send_message, shared_room
from tests.federation.pair import FederationPair
from tests.federation.receiving_helpers import join_remote_room, receiving, use_remote
from tests.federation.remote_room import REMOTE, RemoteRoom
from tests.search.helpers import indexed, result_bodies, room_events, search
from tests.support.server import TEST_SIGNING_KEY, TestServer

ALICE = f"@alice:{REMOTE}"


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


def test_a_redaction_received_before_its_target_keeps_it_out(
    server: TestServer,
) -> None:
    room = RemoteRoom({"test": TEST_SIGNING_KEY})
    use_remote(server, room)
    bob = join_remote_room(server, room)
    base = list(room.extremities)
    content = {"msgtype": "m.text", "body": "walrus facts"}
    target = room.send("m.room.message", ALICE, content, prevs=base, extend=False)
    kept = room.send("m.room.message", ALICE, {"msgtype": "m.text", "body": "walrus"})
    redaction = room.send(EventTypes.REDACTION, ALICE, {}, redacts=target.event_id)
    for event in (kept, redaction, target):
        server.get_success(receiving(server).on_receive_pdu(REMOTE, room.pdu(event)))
    assert indexed(server, kept.event_id)
    assert not indexed(server, target.event_id)
    assert result_bodies(search(bob, "walrus")) == ["walrus"]


def test_backfilled_history_is_searchable(pair: FederationPair) -> None:
    a, b = pair.a, pair.b
    alice = a.user("alice")
    room_id = alice.create_room(preset="public_chat")
    early = []
    for i in range(3):
        a.advance(1)
        early.append(send_message(alice, room_id, f"archive item {i}"))
    bob, _ = join_from(pair, a, b, room_id, "bob")
    # Before backfill b holds none of it.
    assert result_bodies(search(bob, "archive")) == []
    bob.get(f"/_matrix/client/v3/rooms/{room_id}/messages?dir=b&limit=20", expect=200)
    assert all(indexed(b, event_id) for event_id in early)
    assert result_bodies(search(bob, "archive", order_by="recent")) == [
        "archive item 2",
        "archive item 1",
        "archive item 0",
    ]
