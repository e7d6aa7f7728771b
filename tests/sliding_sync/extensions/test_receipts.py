"""The receipts extension: the initial receipts (timeline events and the
user's own), incremental ones, private receipts, scoping, catching up."""

from __future__ import annotations

from typing import Any

from tests.sliding_sync.core.test_sliding_sync import ALL
from tests.sliding_sync.extensions.kit import ON, Conn, room_config, share_room
from tests.support.client import User
from tests.support.server import TestServer


def read(user: User, room_id: str, event_id: str, kind: str = "m.read") -> None:
    user.post(f"/rooms/{room_id}/receipt/{kind}/{event_id}", {}, expect=200)


def readers(section: dict[str, Any], room_id: str) -> dict[str, dict[str, list[str]]]:
    """event ID -> receipt type -> sorted user IDs."""
    entry = section["rooms"][room_id]
    assert entry["type"] == "m.receipt"
    return {
        event_id: {t: sorted(users) for t, users in by_type.items()}
        for event_id, by_type in entry["content"].items()
    }


def test_initial_covers_the_timeline_and_own_receipts(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    carol = server.user("carol")
    room_id = share_room(alice, bob, carol)
    old = alice.send(room_id, "old")
    read(alice, room_id, old)
    read(bob, room_id, old)
    new = alice.send(room_id, "new")
    read(carol, room_id, new)
    read(bob, room_id, new, "m.read.private")
    section = Conn(alice, {"receipts": ON}).sync()["receipts"]  # timeline_limit 1
    assert readers(section, room_id) == {
        new: {"m.read": [carol.user_id]},
        # alice's own receipt, off the timeline, but not bob's
        old: {"m.read": [alice.user_id]},
    }
    # alice's own private receipt is hers to see
    read(alice, room_id, new, "m.read.private")
    mine = Conn(alice, {"receipts": ON}, conn_id="2").sync()["receipts"]
    assert readers(mine, room_id)[new]["m.read.private"] == [alice.user_id]


def test_incremental_and_private(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    room_id = share_room(alice, bob)
    event_id = alice.send(room_id, "hi")
    conn = Conn(alice, {"receipts": ON})
    conn.sync()
    assert conn.sync()["receipts"] == {"rooms": {}}
    read(bob, room_id, event_id)
    section = conn.sync()["receipts"]
    assert readers(section, room_id) == {event_id: {"m.read": [bob.user_id]}}
    read(bob, room_id, event_id, "m.read.private")
    assert conn.sync()["receipts"] == {"rooms": {}}


def test_not_for_rooms_the_user_is_not_joined_to(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    room_id = share_room(bob)
    event_id = bob.send(room_id, "hi")
    read(bob, room_id, event_id)
    bob.invite(room_id, alice.user_id)
    conn = Conn(alice, {"receipts": ON})
    first = conn.sync()
    assert room_id in conn.last["rooms"]  # the invite is listed
    assert first["receipts"] == {"rooms": {}}


def test_scoping_and_catching_up(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    a = share_room(alice, bob)
    b = share_room(alice, bob)
    ea = alice.send(a, "in a")
    eb = alice.send(b, "in b")
    # no lists: a room enters scope (and the response) by its subscription
    conn = Conn(alice, {"receipts": ON}, lists={})

    def watch(room_id: str) -> dict[str, Any]:
        subs = {room_id: room_config()}
        return dict(conn.sync(room_subscriptions=subs)["receipts"])

    assert watch(a) == {"rooms": {}}  # no receipts yet
    read(bob, a, ea)
    read(bob, b, eb)
    assert set(watch(a)["rooms"]) == {a}  # b is out of scope
    # b comes into scope (and is sent): the receipts on its timeline
    assert readers(watch(b), b) == {eb: {"m.read": [bob.user_id]}}
    second = alice.send(a, "again in a")
    read(bob, a, second)
    assert watch(b) == {"rooms": {}}
    # a is back: it gets the receipt it missed while out of scope
    assert readers(watch(a), a) == {second: {"m.read": [bob.user_id]}}


def test_long_poll_wakes_on_a_receipt(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    room_id = share_room(alice, bob)
    event_id = alice.send(room_id, "hi")
    conn = Conn(alice, {"receipts": ON}, lists={"all": {**ALL, "timeline_limit": 0}})
    conn.sync()
    pending = conn.start(server)
    server.advance(1)
    assert not pending.done
    read(bob, room_id, event_id)
    assert pending.done
    section = conn.finish(pending)["receipts"]
    assert readers(section, room_id) == {event_id: {"m.read": [bob.user_id]}}


def test_an_expanded_timeline_brings_its_receipts(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    room_id = share_room(alice, bob)
    older = alice.send(room_id, "older")
    read(bob, room_id, older)
    newest = alice.send(room_id, "newest")
    conn = Conn(alice, {"receipts": ON}, lists={})
    first = conn.sync(room_subscriptions={room_id: room_config(1)})
    assert first["receipts"] == {"rooms": {}}  # bob's receipt is off the timeline
    grown = conn.sync(room_subscriptions={room_id: room_config(3)})
    room = conn.last["rooms"][room_id]
    assert room.get("expanded_timeline") is True
    assert newest in [e["event_id"] for e in room["timeline"]]
    assert readers(grown["receipts"], room_id) == {older: {"m.read": [bob.user_id]}}
