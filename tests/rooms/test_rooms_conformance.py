"""Room endpoints: bugs an independent conformance run found (issue 11, item 12)."""

from __future__ import annotations

from tests.support import event_types
from tests.support.server import TestServer


def test_numeric_room_version_is_bad_json(server: TestServer) -> None:
    alice = server.user("alice")
    resp = alice.post("/createRoom", {"room_version": 11}, expect=400)
    assert resp.json["errcode"] == "M_BAD_JSON"
    assert "room_version" in resp.json["error"]
    huge = b'{"room_version": 12345678901234567890}'
    resp = alice.post("/createRoom", huge, expect=400)
    assert resp.json["errcode"] == "M_BAD_JSON"
    assert "room_version" in resp.json["error"]
    assert "out of range" in resp.json["error"]
    resp = alice.post("/createRoom", b"not json", expect=400)
    assert resp.json["errcode"] == "M_NOT_JSON"
    unknown = alice.post("/createRoom", {"room_version": "999"}, expect=400)
    assert unknown.json["errcode"] == "M_UNSUPPORTED_ROOM_VERSION"
    assert alice.get("/joined_rooms", expect=200).json["joined_rooms"] == []


def test_public_chat_preset_has_no_guest_access_event(server: TestServer) -> None:
    """As Synapse: without the event guests are forbidden anyway."""
    alice = server.user("alice")
    room_id = alice.create_room(preset="public_chat")
    state = alice.get(f"/rooms/{room_id}/state", expect=200).json
    assert "m.room.guest_access" not in event_types(state)
    alice.get(f"/rooms/{room_id}/state/m.room.guest_access/", expect=404)
    private = alice.create_room(preset="private_chat")
    assert alice.state(private, "m.room.guest_access") == {"guest_access": "can_join"}


def test_redacting_an_event_of_another_room_is_400(server: TestServer) -> None:
    alice = server.user("alice")
    first = alice.create_room()
    second = alice.create_room()
    event_id = alice.send(first, "stay")
    resp = alice.put(f"/rooms/{second}/redact/{event_id}/t1", {}, expect=400)
    assert resp.json["errcode"] == "M_INVALID_PARAM"
    resp = alice.event(first, event_id, expect=200)
    assert resp.json["content"]["body"] == "stay"
    alice.put(f"/rooms/{second}/redact/$unknown:test/t2", {}, expect=404)


def test_setting_identical_state_returns_the_existing_event(
    server: TestServer,
) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    room_id = alice.create_room(preset="public_chat")
    bob.join(room_id)
    content = {"topic": "same", "n": 1}
    first = alice.put_state(room_id, "m.room.topic", content, expect=200)
    before = alice.messages(room_id, limit=50, expect=200).json["chunk"]
    again = alice.put_state(room_id, "m.room.topic", {"n": 1, "topic": "same"})
    assert again.code == 200
    assert again.json["event_id"] == first.json["event_id"]
    assert alice.messages(room_id, limit=50, expect=200).json["chunk"] == before
    # Another content, or another sender, is a new event.
    changed = alice.put_state(room_id, "m.room.topic", {"topic": "new"}, expect=200)
    assert changed.json["event_id"] != first.json["event_id"]
    alice.put_state(
        room_id,
        "m.room.power_levels",
        {**alice.state(room_id, "m.room.power_levels"), "state_default": 0},
        expect=200,
    )
    by_bob = bob.put_state(room_id, "m.room.topic", {"topic": "new"}, expect=200)
    assert by_bob.json["event_id"] != changed.json["event_id"]


def test_join_keeps_extra_member_content(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    room_id = alice.create_room(preset="public_chat")
    body = {
        "foo": "bar",
        "reason": "hello",
        "membership": "leave",
        "join_authorised_via_users_server": alice.user_id,
    }
    bob.post(f"/rooms/{room_id}/join", body, expect=200)
    content = bob.state(room_id, "m.room.member", bob.user_id)
    assert content["foo"] == "bar"
    assert content["reason"] == "hello"
    assert content["membership"] == "join"
    assert "join_authorised_via_users_server" not in content
    carol = server.user("carol")
    carol.post(f"/join/{room_id}", {"displayname": "Room Carol"}, expect=200)
    content = carol.state(room_id, "m.room.member", carol.user_id)
    assert content["displayname"] == "Room Carol"
