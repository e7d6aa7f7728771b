"""A display name or avatar change reaches the user's member events, and the
next incremental /sync carries on from its token (a join -> join is no new
join)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import Room, User, timeline
from tests.support.server import TestServer


@pytest.fixture
def room(server: TestServer) -> Room:
    alice = server.user("alice")
    bob = server.user("bob")
    room_id = alice.create_room(name="Lounge", preset="public_chat")
    bob.join(room_id)
    return Room(room_id, alice, bob)


def _set(user: User, key: str, value: Any) -> None:
    user.put(f"/profile/{user.user_id}/{key}", {key: value}, expect=200)


def _members(events: list[dict[str, Any]], user_id: str) -> list[dict[str, Any]]:
    return [
        e for e in events if e["type"] == "m.room.member" and e["state_key"] == user_id
    ]


def test_display_name_and_avatar_reach_every_joined_room(
    server: TestServer, room: Room
) -> None:
    alice, bob = room.alice, room.bob
    other = alice.create_room()
    since = bob.sync()["next_batch"]
    _set(alice, "displayname", "Alice A.")
    _set(alice, "avatar_url", "mxc://test/alice")
    seen = _members(timeline(bob.sync(since), room.id), alice.user_id)
    assert [e["content"] for e in seen] == [
        {"membership": "join", "displayname": "Alice A."},
        {
            "membership": "join",
            "displayname": "Alice A.",
            "avatar_url": "mxc://test/alice",
        },
    ]
    assert seen[0]["unsigned"]["prev_content"]["displayname"] == "alice"
    assert seen[0]["unsigned"]["prev_content"]["membership"] == "join"
    joined = bob.get(f"/rooms/{room.id}/joined_members", expect=200).json["joined"]
    assert joined[alice.user_id] == {
        "display_name": "Alice A.",
        "avatar_url": "mxc://test/alice",
    }
    member = alice.state(other, "m.room.member", alice.user_id)
    assert member["displayname"] == "Alice A."
    assert member["avatar_url"] == "mxc://test/alice"


def test_removing_the_display_name_removes_it_from_the_member_event(
    room: Room,
) -> None:
    alice = room.alice
    alice.delete(f"/profile/{alice.user_id}/displayname", expect=200)
    member = room.bob.state(room.id, "m.room.member", alice.user_id)
    assert member == {"membership": "join"}


def test_unchanged_profile_sends_no_event(room: Room) -> None:
    alice = room.alice
    since = room.bob.sync()["next_batch"]
    _set(alice, "displayname", "alice")
    assert room.id not in room.bob.sync(since, timeout=0)["rooms"]["join"]


def test_custom_fields_do_not_touch_member_events(room: Room) -> None:
    alice = room.alice
    since = room.bob.sync()["next_batch"]
    _set(alice, "m.example", "x")
    assert room.id not in room.bob.sync(since, timeout=0)["rooms"]["join"]


def test_display_name_change_does_not_resend_the_room(room: Room) -> None:
    """The bug: the user's own join event in the window made the room look
    newly joined, so the whole room (full state, a fresh timeline) came again."""
    alice = room.alice
    since = alice.sync()["next_batch"]
    _set(alice, "displayname", "Alice A.")
    section = alice.sync(since)["rooms"]["join"][room.id]
    events = section["timeline"]["events"]
    assert [(e["type"], e["content"].get("displayname")) for e in events] == [
        ("m.room.member", "Alice A.")
    ]
    assert section["timeline"]["limited"] is False
    assert section["state"]["events"] == []


def test_display_name_change_keeps_unread_counts(room: Room) -> None:
    alice, bob = room.alice, room.bob
    bob.send(room.id, "one")
    bob.send(room.id, "two")
    _set(alice, "displayname", "Alice A.")
    unread = alice.sync()["rooms"]["join"][room.id]["unread_notifications"]
    assert unread["notification_count"] == 2


def test_leave_and_rejoin_since_the_token_still_resends_the_room(
    room: Room,
) -> None:
    bob = room.bob
    since = bob.sync()["next_batch"]
    bob.leave(room.id)
    bob.join(room.id)
    section = bob.sync(since)["rooms"]["join"][room.id]
    state_types = {e["type"] for e in section["state"]["events"]}
    timeline_types = {e["type"] for e in section["timeline"]["events"]}
    assert "m.room.create" in state_types | timeline_types
