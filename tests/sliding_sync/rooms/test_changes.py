"""The sliding-sync room builder through HTTP: lazy members, grown configs,
unread counts, invites and leaving."""

from __future__ import annotations

from typing import Any

from tests.sliding_sync.core.test_sliding_sync import ss, start_ss
from tests.sliding_sync.rooms.test_fields import bodies, state_keys, sub
from tests.support.client import User
from tests.support.server import TestServer

LAZY = [["m.room.member", "$LAZY"]]


def club(server: TestServer, **extra: Any) -> tuple[User, User, str]:
    """alice and bob in bob's public room "Club"."""
    alice = server.user("alice")
    bob = server.user("bob")
    room_id = bob.create_room(name="Club", preset="public_chat", **extra)
    alice.join(room_id)
    return alice, bob, room_id


def members(room: dict) -> set[str]:
    return {k for t, k in state_keys(room) if t == "m.room.member"}


def test_lazy_members_once_per_connection(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    carol = server.user("carol")
    dave = server.user("dave")
    room_id = alice.create_room(preset="public_chat")
    for user in (bob, carol, dave):
        user.join(room_id)
    bob.send(room_id, "b1")
    first = ss(alice, sub(room_id, LAZY, timeline_limit=1))
    assert members(first["rooms"][room_id]) == {bob.user_id}
    bob.send(room_id, "b2")
    second = ss(alice, {**sub(room_id, LAZY, 5), "pos": first["pos"]})
    # grown timeline (1 -> 5): sent again with the members of the older
    # events (the targets of the joins), not bob's (already sent)
    room = second["rooms"][room_id]
    assert room["expanded_timeline"] is True
    assert members(room) == {carol.user_id, dave.user_id}
    carol.send(room_id, "c1")
    third = ss(alice, {**sub(room_id, LAZY, 5), "pos": second["pos"]})
    room = third["rooms"][room_id]
    # carol's membership was sent on this connection: not again
    assert bodies(room) == ["c1"] and "required_state" not in room
    # without a gap, every membership change comes too
    dave.leave(room_id)
    bob.send(room_id, "b3")
    fourth = ss(alice, {**sub(room_id, LAZY, 5), "pos": third["pos"]})
    room = fourth["rooms"][room_id]
    assert room["limited"] is False
    assert members(room) == {dave.user_id}
    # after a gap: only members sent before whose membership changed in it
    carol.put(f"/profile/{carol.user_id}/displayname", {"displayname": "C"}, expect=200)
    for i in range(6):
        carol.send(room_id, f"c{i}")
    bob.send(room_id, "b4")
    fifth = ss(alice, {**sub(room_id, LAZY, 5), "pos": fourth["pos"]})
    room = fifth["rooms"][room_id]
    assert room["limited"] is True
    [carol_member] = room["required_state"]
    assert carol_member["content"]["displayname"] == "C"


def test_lazy_memory_stays_bounded(server: TestServer) -> None:
    from homeserver.services.sliding_sync.rooms.state import MAX_LAZY_REMEMBERED

    alice = server.user("alice")
    room_id = alice.create_room(preset="public_chat")
    pos = ss(alice, sub(room_id, LAZY, 5))["pos"]
    for i in range(MAX_LAZY_REMEMBERED + 5):
        user = server.user(f"u{i}")
        user.join(room_id)
        user.send(room_id, "hello")
        pos = ss(alice, {**sub(room_id, LAZY, 5), "pos": pos})["pos"]
    ss(alice, {**sub(room_id, LAZY, 5), "pos": pos})
    [conn] = server.hs.sync.sliding.connections._by_device[
        (alice.user_id, alice.device_id or "")
    ].values()
    assert len(conn.rooms[room_id].memory["lazy"]) == MAX_LAZY_REMEMBERED


def test_grown_required_state_sends_only_the_new_state(server: TestServer) -> None:
    alice = server.user("alice")
    room_id = alice.create_room(name="N", topic="T")
    first = ss(alice, sub(room_id, [["m.room.name", ""]]))
    assert state_keys(first["rooms"][room_id]) == {("m.room.name", "")}
    wider = [["m.room.name", ""], ["m.room.topic", ""]]
    second = ss(alice, {**sub(room_id, wider), "pos": first["pos"]})
    room = second["rooms"][room_id]
    assert "initial" not in room and "timeline" not in room
    assert state_keys(room) == {("m.room.topic", "")}
    # narrower again, then a message: nothing is sent for the state
    alice.send(room_id, "x")
    third = ss(alice, {**sub(room_id, wider), "pos": second["pos"]})
    assert "required_state" not in third["rooms"][room_id]


def test_smaller_limit_with_a_gap_then_larger_sends_history(
    server: TestServer,
) -> None:
    alice = server.user("alice")
    room_id = alice.create_room(name="R")
    first = ss(alice, sub(room_id, [], 5))
    for i in range(3):
        alice.send(room_id, f"m{i}")
    second = ss(alice, {**sub(room_id, [], 1), "pos": first["pos"]})
    assert second["rooms"][room_id]["limited"] is True
    third = ss(alice, {**sub(room_id, [], 5), "pos": second["pos"]})
    room = third["rooms"][room_id]
    assert room["expanded_timeline"] is room["unstable_expanded_timeline"] is True
    assert bodies(room)[-3:] == ["m0", "m1", "m2"]
    assert room["num_live"] == 0


def test_unread_counts_and_own_read_receipt(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    room_id = alice.create_room(name="R", preset="public_chat")
    bob.join(room_id)
    first = ss(alice, sub(room_id, [], 1))
    bob.send(room_id, "hello")
    last = bob.send(room_id, "hey alice")
    second = ss(alice, {**sub(room_id, [], 1), "pos": first["pos"]})
    room = second["rooms"][room_id]
    assert room["notification_count"] == 2
    assert room["highlight_count"] == 1
    # alice reads on another device: the room comes again with no events
    alice.post(f"/rooms/{room_id}/receipt/m.read/{last}", {}, expect=200)
    third = ss(alice, {**sub(room_id, [], 1), "pos": second["pos"]})
    room = third["rooms"][room_id]
    assert "timeline" not in room
    assert room["notification_count"] == 0 and room["highlight_count"] == 0
    quiet = ss(alice, {**sub(room_id, [], 1), "pos": third["pos"]})
    assert quiet["rooms"] == {}


def test_invite_then_join(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    room_id = bob.create_room(name="Party", preset="private_chat")
    bob.invite(room_id, alice.user_id)
    lists = {"all": {"range": [0, 9], "timeline_limit": 3, "required_state": []}}
    first = ss(alice, {"lists": lists})
    room = first["rooms"][room_id]
    assert room["membership"] == "invite" and room["initial"] is True
    assert room["invite_state"] == room["stripped_state"]
    types = {e["type"] for e in room["invite_state"]}
    assert {"m.room.name", "m.room.member"} <= types
    # stripped: the invite too (as Synapse), and the name it gives
    invite = room["invite_state"][-1]
    assert set(invite) == {"type", "state_key", "content", "sender"}
    assert invite["content"]["membership"] == "invite"
    assert room["name"] == "Party"
    # the inviter's membership too (MSC4319, as Synapse)
    inviter = [
        e
        for e in room["invite_state"]
        if e["type"] == "m.room.member" and e["state_key"] == bob.user_id
    ]
    assert [e["content"]["membership"] for e in inviter] == ["join"]
    assert not {"timeline", "required_state", "joined_count"} & room.keys()
    # activity in the room is not shown to the invitee
    bob.send(room_id, "before alice")
    second = ss(alice, {"lists": lists, "pos": first["pos"]})
    assert room_id not in second["rooms"]
    alice.join(room_id)
    third = ss(alice, {"lists": lists, "pos": second["pos"]})
    room = third["rooms"][room_id]
    assert room["initial"] is True and "membership" not in room
    assert room["name"] == "Party" and room["joined_count"] == 2
    assert bodies(room)[-1] is None  # alice's join ends the timeline
    assert "invite_state" not in room


def test_leaving_is_told_incrementally(server: TestServer) -> None:
    alice, bob, room_id = club(server)
    request = sub(room_id, [["m.room.member", "$ME"]], 3)
    first = ss(alice, request)
    bob.send(room_id, "bye?")
    alice.leave(room_id)
    bob.send(room_id, "after")
    second = ss(alice, {**request, "pos": first["pos"]})
    room = second["rooms"][room_id]
    assert "initial" not in room and room["membership"] == "leave"
    assert bodies(room)[0] == "bye?" and "after" not in bodies(room)
    [me] = room["required_state"]
    assert me["content"]["membership"] == "leave"
    assert room["notification_count"] == 0


def test_left_room_without_timeline_is_not_sent_again(server: TestServer) -> None:
    alice, bob, room_id = club(server)
    request = sub(room_id, [["m.room.topic", ""]], 0)
    first = ss(alice, request)
    alice.leave(room_id)
    second = ss(alice, {**request, "pos": first["pos"]})
    room = second["rooms"][room_id]
    assert room["membership"] == "leave" and "timeline" not in room
    # what happens after the leave is not the user's business
    bob.put_state(room_id, "m.room.topic", {"topic": "secret"})
    bob.send(room_id, "later")
    third = ss(alice, {**request, "pos": second["pos"]})
    assert room_id not in third["rooms"]


def test_rejoining_sends_the_room_whole(server: TestServer) -> None:
    alice, bob, room_id = club(server, topic="t")
    request = sub(room_id, [["m.room.topic", ""]], 2)
    first = ss(alice, request)
    alice.leave(room_id)
    second = ss(alice, {**request, "pos": first["pos"]})
    alice.join(room_id)
    third = ss(alice, {**request, "pos": second["pos"]})
    room = third["rooms"][room_id]
    assert room["initial"] is True
    assert room["name"] == "Club" and room["joined_count"] == 2
    assert state_keys(room) == {("m.room.topic", "")}
    assert room["timeline"][-1]["content"]["membership"] == "join"


def test_joined_room_without_timeline_tells_its_bump(server: TestServer) -> None:
    alice = server.user("alice")
    room_id = alice.create_room(name="R")
    request = sub(room_id, [], 0)
    first = ss(alice, request)
    stamp = first["rooms"][room_id]["bump_stamp"]
    alice.send(room_id, "news")
    second = ss(alice, {**request, "pos": first["pos"]})
    room = second["rooms"][room_id]
    assert room["bump_stamp"] > stamp and "timeline" not in room
    assert "limited" not in room and "prev_batch" not in room


def test_knock_shows_stripped_state_only(server: TestServer) -> None:
    knocking = {"type": "m.room.join_rules", "content": {"join_rule": "knock"}}
    bob = server.user("bob")
    room_id = bob.create_room(name="Door", initial_state=[knocking])
    alice = server.user("alice")
    alice.post(f"/knock/{room_id}", {"reason": "hi"}, expect=200)
    lists = {"all": {"range": [0, 9], "timeline_limit": 3, "required_state": []}}
    body = ss(alice, {"lists": lists})
    room = body["rooms"][room_id]
    assert room["membership"] == "knock" and room["initial"] is True
    knock = room["stripped_state"][-1]
    assert knock["type"] == "m.room.member"
    assert knock["content"]["membership"] == "knock"
    assert room["name"] == "Door"  # from the stripped state
    assert not {"timeline", "required_state", "joined_count"} & room.keys()


def test_long_poll_wakes_on_own_read_receipt(server: TestServer) -> None:
    alice, bob, room_id = club(server)
    last = bob.send(room_id, "unread")
    request = sub(room_id, [], 1)
    first = ss(alice, request)
    assert first["rooms"][room_id]["notification_count"] == 1
    pending = start_ss(server, alice, request, f"pos={first['pos']}&timeout=30000")
    server.advance(1)
    assert not pending.done
    other = server.login("alice")
    other.post(f"/rooms/{room_id}/receipt/m.read/{last}", {}, expect=200)
    assert pending.done
    room = pending.response().json["rooms"][room_id]
    assert room["notification_count"] == 0 and "timeline" not in room
