"""Delete for me (Chatly extension, docs/extensions/delete-for-me.md): a user
hides an event from their own view on all their devices; nobody else is
affected, and undo brings it back."""

from __future__ import annotations

import pytest

from tests.support import Room, User, bodies, q, timeline
from tests.support.server import TestServer

CHATLY = "/_chatly/client/v1"


def hidden_path(room_id: str, event_id: str) -> str:
    return f"{CHATLY}/rooms/{q(room_id)}/hidden/{q(event_id)}"


def hide(user: User, room_id: str, event_id: str, expect: int = 200) -> object:
    return user.put(hidden_path(room_id, event_id), {}, expect=expect).json


def unhide(user: User, room_id: str, event_id: str) -> None:
    user.delete(hidden_path(room_id, event_id), expect=200)


def hidden_data(body: dict, room_id: str) -> list[str] | None:
    joined = body["rooms"]["join"].get(room_id, {})
    for event in joined.get("account_data", {}).get("events", []):
        if event["type"] == "chatly.hidden_events":
            return list(event["content"]["event_ids"])
    return None


@pytest.fixture
def room(server: TestServer) -> Room:
    alice = server.user("alice")
    bob = server.user("bob")
    room_id = alice.create_room(preset="public_chat")
    bob.join(room_id)
    ids = [(alice if i % 2 else bob).send(room_id, f"m{i}") for i in range(6)]
    return Room(room_id, alice, bob, events=ids)


def test_hidden_event_leaves_every_read_path_for_that_user_only(room: Room) -> None:
    alice, bob = room.alice, room.bob
    target = room.events[2]
    assert hide(alice, room.id, target) == {}
    assert "m2" not in bodies(alice.timeline(room.id))
    chunk = alice.messages(room.id, limit=3, expect=200).json["chunk"]
    assert bodies(chunk) == ["m5", "m4", "m3"]
    assert bodies(alice.messages(room.id, limit=4, expect=200).json["chunk"]) == [
        "m5",
        "m4",
        "m3",
        "m1",
    ]
    alice.event(room.id, target, expect=404)
    alice.get(f"/rooms/{room.id}/context/{target}", expect=404)
    ctx = alice.get(f"/rooms/{room.id}/context/{room.events[3]}", limit=2).json
    assert bodies(ctx["events_before"]) == ["m1"]
    # Nobody else is affected: not bob, who sent it...
    assert "m2" in bodies(bob.timeline(room.id))
    bob.event(room.id, target, expect=200)
    # ... and the event is not redacted.
    assert bob.event(room.id, target).json["content"]["body"] == "m2"


def test_undo_restores_the_event(room: Room) -> None:
    alice = room.alice
    target = room.events[1]
    hide(alice, room.id, target)
    unhide(alice, room.id, target)
    alice.event(room.id, target, expect=200)
    assert "m1" in bodies(alice.timeline(room.id))
    # Idempotent both ways.
    unhide(alice, room.id, target)
    hide(alice, room.id, target)
    hide(alice, room.id, target)
    listed = alice.get(f"{CHATLY}/rooms/{q(room.id)}/hidden", expect=200).json
    assert [h["event_id"] for h in listed["chunk"]] == [target]


def test_other_devices_learn_of_it_through_room_account_data(
    server: TestServer, room: Room
) -> None:
    alice = room.alice
    phone = server.login("alice")
    since = phone.sync()["next_batch"]
    hide(alice, room.id, room.events[0])
    hide(alice, room.id, room.events[3])
    body = phone.sync(since)
    assert hidden_data(body, room.id) == sorted([room.events[0], room.events[3]])
    unhide(alice, room.id, room.events[0])
    body = phone.sync(body["next_batch"])
    assert hidden_data(body, room.id) == [room.events[3]]
    # An initial sync on a new device carries the list too, and no hidden event.
    fresh = server.login("alice").sync()
    assert hidden_data(fresh, room.id) == [room.events[3]]
    assert "m3" not in bodies(timeline(fresh, room.id))
    # The account data type is the server's: clients cannot write it.
    resp = alice.put(
        f"/user/{q(alice.user_id)}/rooms/{q(room.id)}/account_data/chatly.hidden_events",
        {"event_ids": []},
        expect=405,
    )
    assert resp.json["errcode"] == "M_BAD_JSON"


def test_a_live_sync_is_woken_and_later_events_still_come(room: Room) -> None:
    alice, bob = room.alice, room.bob
    since = alice.sync()["next_batch"]
    new = bob.send(room.id, "new")
    hide(alice, room.id, new)
    body = alice.sync(since)
    assert bodies(timeline(body, room.id)) == []
    assert hidden_data(body, room.id) == [new]
    bob.send(room.id, "newer")
    assert bodies(timeline(alice.sync(body["next_batch"]), room.id)) == ["newer"]


def test_listing_pages_and_covers_all_rooms(server: TestServer, room: Room) -> None:
    alice = room.alice
    other = alice.create_room()
    lone = alice.send(other, "elsewhere")
    for index, event_id in enumerate(room.events[:3]):
        server.advance(1)
        hide(alice, room.id, event_id)
        assert index < 3
    server.advance(1)
    hide(alice, other, lone)
    everything = alice.get(f"{CHATLY}/hidden", expect=200).json
    assert [h["event_id"] for h in everything["chunk"]] == [
        lone,
        room.events[2],
        room.events[1],
        room.events[0],
    ]
    first = everything["chunk"][0]
    assert first["room_id"] == other and isinstance(first["hidden_ts"], int)
    page = alice.get(f"{CHATLY}/rooms/{q(room.id)}/hidden", limit=2).json
    assert [h["event_id"] for h in page["chunk"]] == room.events[2:0:-1]
    rest = alice.get(
        f"{CHATLY}/rooms/{q(room.id)}/hidden", limit=2, **{"from": page["next_batch"]}
    ).json
    assert [h["event_id"] for h in rest["chunk"]] == [room.events[0]]
    assert "next_batch" not in rest
    # Bob has hidden nothing.
    assert room.bob.get(f"{CHATLY}/hidden", expect=200).json == {"chunk": []}


def test_errors(server: TestServer, room: Room) -> None:
    alice = room.alice
    outsider = server.user("carol")
    private = alice.create_room()
    secret = alice.send(private, "secret")
    # Not in the room: the outsider cannot probe it.
    assert hide(outsider, private, secret, expect=403)["errcode"] == "M_FORBIDDEN"
    # Unknown event, or an event of another room.
    assert hide(alice, room.id, "$nope", expect=404)["errcode"] == "M_NOT_FOUND"
    assert hide(alice, room.id, secret, expect=404)["errcode"] == "M_NOT_FOUND"
    # State events stay: the room's state must not look different.
    create = alice.get(f"/rooms/{room.id}/state", expect=200).json[0]["event_id"]
    assert hide(alice, room.id, create, expect=400)["errcode"] == "M_INVALID_PARAM"
    assert hide(alice, "not-a-room", secret, expect=400)["errcode"] == (
        "M_INVALID_PARAM"
    )
    for bad in ({"limit": 0}, {"limit": "x"}, {"from": "abc"}, {"from": "\u00b2"}):
        resp = alice.get(f"{CHATLY}/hidden", expect=400, **bad)
        assert resp.json["errcode"] == "M_INVALID_PARAM"
    alice.request("PUT", hidden_path(room.id, room.events[0]), expect=200)
    server.request("PUT", hidden_path(room.id, room.events[0]), {}, token=None)
    resp = server.request("GET", f"{CHATLY}/hidden", None, token=None)
    assert resp.code == 401 and resp.json["errcode"] == "M_MISSING_TOKEN"
    # Nothing was written by the refused requests.
    listed = alice.get(f"{CHATLY}/hidden", expect=200).json["chunk"]
    assert [h["event_id"] for h in listed] == [room.events[0]]


def test_unread_counts_leave_out_hidden_events(room: Room) -> None:
    alice, bob = room.alice, room.bob
    alice.post(f"/rooms/{room.id}/receipt/m.read/{room.events[-1]}", {}, expect=200)
    first = bob.send(room.id, "one")
    bob.send(room.id, "two")
    hide(alice, room.id, first)
    joined = alice.sync()["rooms"]["join"][room.id]
    assert joined["unread_notifications"]["notification_count"] == 1


def test_versions_advertise_the_extension(server: TestServer) -> None:
    resp = server.request("GET", "/_matrix/client/versions", None, token=None)
    assert resp.json["unstable_features"]["chatly.delete_for_me"] is True
