"""Ignoring users (spec: client-server API, "Ignoring Users"): the
``m.ignored_user_list`` account data hides the ignored users' events (but not
their state events), invites and to-device messages from the ignorer."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import Room, User, bodies, q, timeline
from tests.support.server import TestServer


def ignore(user: User, *others: User) -> None:
    content = {"ignored_users": {o.user_id: {} for o in others}}
    user.put(
        f"/user/{q(user.user_id)}/account_data/m.ignored_user_list", content, expect=200
    )


@pytest.fixture
def room(server: TestServer) -> Room:
    alice = server.user("alice")
    bob = server.user("bob")
    carol = server.user("carol")
    room_id = alice.create_room(preset="public_chat")
    bob.join(room_id)
    carol.join(room_id)
    ids = [
        alice.send(room_id, "a1"),
        bob.send(room_id, "b1"),
        carol.send(room_id, "c1"),
        bob.send(room_id, "b2"),
        alice.send(room_id, "a2"),
    ]
    return Room(room_id, alice, bob, carol, events=ids)


def test_ignored_users_events_leave_sync_messages_and_context(room: Room) -> None:
    alice, bob = room.alice, room.bob
    ignore(alice, bob)
    assert bodies(alice.timeline(room.id)) == ["a1", "c1", "a2"]
    chunk = alice.messages(room.id, limit=10, expect=200).json["chunk"]
    assert bodies(chunk) == ["a2", "c1", "a1"]
    # The pages are topped up: a limit of 2 still brings two messages.
    two = alice.messages(room.id, limit=2, expect=200).json["chunk"]
    assert bodies(two) == ["a2", "c1"]
    ctx = alice.get(f"/rooms/{room.id}/context/{room.events[2]}", limit=10).json
    assert bodies(ctx["events_before"]) == ["a1"]
    assert bodies(ctx["events_after"]) == ["a2"]
    # Context around, or a read of, an ignored user's event: 404.
    alice.get(f"/rooms/{room.id}/context/{room.events[1]}", expect=404)
    assert alice.event(room.id, room.events[1], expect=404).json["errcode"] == (
        "M_NOT_FOUND"
    )
    alice.event(room.id, room.events[2], expect=200)
    # Nobody else is affected.
    assert room.carol is not None
    assert bodies(room.carol.timeline(room.id)) == ["a1", "b1", "c1", "b2", "a2"]
    assert bob.event(room.id, room.events[1], expect=200).json["sender"] == (
        bob.user_id
    )


def test_state_events_of_ignored_users_are_still_sent(room: Room) -> None:
    alice, bob = room.alice, room.bob
    alice.put_state(
        room.id, "m.room.power_levels", _power_levels(alice, bob), expect=200
    )
    ignore(alice, bob)
    since = alice.sync()["next_batch"]
    bob.put_state(room.id, "m.room.topic", {"topic": "by bob"}, expect=200)
    bob.send(room.id, "hidden")
    events = timeline(alice.sync(since), room.id)
    assert [(e["type"], e["sender"]) for e in events] == [("m.room.topic", bob.user_id)]
    chunk = alice.messages(room.id, limit=3, expect=200).json["chunk"]
    assert chunk[0]["type"] == "m.room.topic"
    assert "hidden" not in bodies(chunk)


def _power_levels(alice: User, bob: User) -> dict[str, Any]:
    return {
        "users": {alice.user_id: 100, bob.user_id: 50},
        "state_default": 50,
        "events_default": 0,
    }


def test_a_change_of_the_list_applies_to_the_next_sync(room: Room) -> None:
    alice, bob = room.alice, room.bob
    since = alice.sync()["next_batch"]
    ignore(alice, bob)
    bob.send(room.id, "while ignored")
    room.carol.send(room.id, "carol") if room.carol else None
    body = alice.sync(since)
    assert bodies(timeline(body, room.id)) == ["carol"]
    types = [e["type"] for e in body["account_data"]["events"]]
    assert "m.ignored_user_list" in types
    # Un-ignoring: new events come again; the missed ones are not resent
    # (spec: "it should not send events that were missed").
    since = body["next_batch"]
    ignore(alice)
    bob.send(room.id, "after")
    assert bodies(timeline(alice.sync(since), room.id)) == ["after"]
    # A fresh sync shows everything, as the spec tells clients to do.
    assert "while ignored" in bodies(alice.timeline(room.id))


def test_unread_counts_leave_out_ignored_users(room: Room) -> None:
    alice, bob = room.alice, room.bob
    alice.post(f"/rooms/{room.id}/receipt/m.read/{room.events[-1]}", {}, expect=200)
    ignore(alice, bob)
    bob.send(room.id, "b3")
    assert room.carol is not None
    room.carol.send(room.id, "c2")
    joined = alice.sync()["rooms"]["join"][room.id]
    assert joined["unread_notifications"]["notification_count"] == 1


def test_invites_from_ignored_users_are_not_sent(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    carol = server.user("carol")
    ignore(alice, bob)
    since = alice.sync()["next_batch"]
    from_bob = bob.create_room()
    bob.invite(from_bob, alice.user_id)
    from_carol = carol.create_room()
    carol.invite(from_carol, alice.user_id)
    incremental = alice.sync(since)["rooms"]["invite"]
    assert list(incremental) == [from_carol]
    initial = alice.sync()["rooms"]["invite"]
    assert list(initial) == [from_carol]
    # The invite still stands: alice can join if she wants to.
    alice.join(from_bob)


def test_to_device_messages_from_ignored_users_are_dropped(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    carol = server.user("carol")
    ignore(alice, bob)
    since = alice.sync()["next_batch"]
    for sender, txn in ((bob, "t1"), (carol, "t2")):
        sender.put(
            f"/sendToDevice/m.test/{txn}",
            {"messages": {alice.user_id: {"*": {"from": sender.localpart}}}},
            expect=200,
        )
    events = alice.sync(since)["to_device"]["events"]
    assert [e["sender"] for e in events] == [carol.user_id]


def test_ignoring_yourself_is_refused(server: TestServer) -> None:
    alice = server.user("alice")
    resp = alice.put(
        f"/user/{q(alice.user_id)}/account_data/m.ignored_user_list",
        {"ignored_users": {alice.user_id: {}}},
        expect=400,
    )
    assert resp.json["errcode"] == "M_INVALID_PARAM"
    alice.get(f"/user/{q(alice.user_id)}/account_data/m.ignored_user_list", expect=404)


def test_an_invalid_list_ignores_nobody(room: Room) -> None:
    alice = room.alice
    alice.put(
        f"/user/{q(alice.user_id)}/account_data/m.ignored_user_list",
        {"ignored_users": [room.bob.user_id]},
        expect=200,
    )
    assert "b1" in bodies(alice.timeline(room.id))


def test_a_long_poll_keeps_waiting_through_ignored_messages(room: Room) -> None:
    alice, bob, server = room.alice, room.bob, room.alice.server
    ignore(alice, bob)
    since = alice.sync()["next_batch"]
    pending = server.start_request(
        "GET", f"/_matrix/client/v3/sync?since={since}&timeout=30000", alice.token
    )
    bob.send(room.id, "ignored")
    server.advance(1)
    assert not pending.done
    assert room.carol is not None
    room.carol.send(room.id, "wake up")
    server.advance(1)
    assert pending.done
    body = pending.response().json
    assert bodies(timeline(body, room.id)) == ["wake up"]
    # Nothing new but an ignored message: the room is not listed at all.
    since = body["next_batch"]
    bob.send(room.id, "ignored again")
    assert room.id not in alice.sync(since, timeout=0)["rooms"]["join"]
