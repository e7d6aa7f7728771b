"""GET /event, /state, /state/{type}/{key}, /members, /joined_members; unsigned.

Spec: client-server API, "Getting events for a room", "Room membership".
"""

from __future__ import annotations

import pytest

from tests.reading.helpers import say
from tests.support import CLIENT, Room
from tests.support.server import TestServer


@pytest.fixture
def room(server: TestServer) -> Room:
    alice = server.user("alice")
    bob = server.user("bob")
    carol = server.user("carol")
    room_id = alice.create_room(preset="public_chat", name="Lobby", topic="v1")
    assert bob.membership(room_id, "join").code == 200
    return Room(room_id, alice, bob, carol)


def test_get_event(server: TestServer, room: Room) -> None:
    event_id = say(room.alice, room.id, "hello")
    resp = room.bob.event(room.id, event_id)
    assert resp.code == 200
    body = resp.json
    assert body["event_id"] == event_id and body["room_id"] == room.id
    assert body["sender"] == room.alice.user_id and body["content"]["body"] == "hello"
    assert {"origin_server_ts", "type", "unsigned"} <= body.keys()
    assert "age" in body["unsigned"]
    for bad_room, bad_event in (
        (room.id, "$unknown"),
        ("!nowhere:test", event_id),
    ):
        resp = room.bob.event(bad_room, bad_event)
        assert resp.code == 404 and resp.json["errcode"] == "M_NOT_FOUND"
    other = room.alice.create_room(preset="public_chat")
    assert room.alice.event(other, event_id).code == 404
    resp = room.bob.get(f"/_matrix/client/r0/rooms/{room.id}/event/{event_id}")
    assert resp.code == 200


def test_transaction_id_only_for_the_sending_device(
    server: TestServer, room: dict
) -> None:
    resp = room.alice.send_event(
        room.id, {"msgtype": "m.text", "body": "x"}, txn_id="my-txn"
    )
    event_id = resp.json["event_id"]
    own = room.alice.event(room.id, event_id).json
    assert own["unsigned"]["transaction_id"] == "my-txn"
    other_device = server.login("alice")
    assert (
        "transaction_id" not in other_device.event(room.id, event_id).json["unsigned"]
    )
    assert "transaction_id" not in room.bob.event(room.id, event_id).json["unsigned"]
    chunk = room.alice.messages(room.id, limit=1).json["chunk"]
    assert chunk[0]["unsigned"]["transaction_id"] == "my-txn"
    chunk = other_device.messages(room.id, limit=1).json["chunk"]
    assert "transaction_id" not in chunk[0]["unsigned"]


def test_redacted_events_are_served_redacted(server: TestServer, room: Room) -> None:
    event_id = say(room.alice, room.id, "oops", extra="secret")
    resp = room.alice.put(
        f"{CLIENT}/rooms/{room.id}/redact/{event_id}/r1", {"reason": "typo"}
    )
    assert resp.code == 200
    redaction_id = resp.json["event_id"]
    for served in (
        room.bob.event(room.id, event_id).json,
        next(
            e
            for e in room.bob.messages(room.id).json["chunk"]
            if e["event_id"] == event_id
        ),
        room.bob.get(f"/rooms/{room.id}/context/{event_id}").json["event"],
    ):
        assert served["content"] == {}
        because = served["unsigned"]["redacted_because"]
        assert because["event_id"] == redaction_id
        assert because["content"]["reason"] == "typo"
    redaction = room.bob.event(room.id, redaction_id).json
    assert redaction["type"] == "m.room.redaction"


def test_prev_content_on_state_changes(server: TestServer, room: Room) -> None:
    room.alice.put_state(room.id, "m.room.topic", {"topic": "v2"})
    topic = room.bob.messages(room.id, limit=1).json["chunk"][0]
    assert topic["type"] == "m.room.topic" and topic["content"] == {"topic": "v2"}
    assert topic["unsigned"]["prev_content"]["topic"] == "v1"
    assert topic["unsigned"]["replaces_state"]
    state_event = room.bob.get(
        f"/rooms/{room.id}/state/m.room.topic", format="event"
    ).json
    assert state_event["unsigned"]["prev_content"]["topic"] == "v1"


def test_full_state(server: TestServer, room: Room) -> None:
    resp = room.bob.get(f"/rooms/{room.id}/state")
    assert resp.code == 200
    keys = {(e["type"], e["state_key"]) for e in resp.json}
    assert {
        ("m.room.create", ""),
        ("m.room.name", ""),
        ("m.room.topic", ""),
        ("m.room.member", room.alice.user_id),
        ("m.room.member", room.bob.user_id),
        ("m.room.power_levels", ""),
        ("m.room.join_rules", ""),
    } <= keys
    assert all("event_id" in e and "room_id" in e for e in resp.json)
    assert room.bob.get("/rooms/!nowhere:test/state").code == 404
    resp = room.carol.get(f"/rooms/{room.id}/state")
    assert resp.code == 403 and resp.json["errcode"] == "M_FORBIDDEN"


def test_single_state_event(server: TestServer, room: Room) -> None:
    base = f"/rooms/{room.id}/state"
    assert room.bob.get(f"{base}/m.room.name").json == {"name": "Lobby"}
    assert room.bob.get(f"{base}/m.room.name/").json == {"name": "Lobby"}
    member = room.bob.get(f"{base}/m.room.member/{room.alice.user_id}")
    assert member.code == 200 and member.json["membership"] == "join"
    full = room.bob.get(f"{base}/m.room.name", format="event").json
    assert full["type"] == "m.room.name" and full["state_key"] == ""
    assert full["content"] == {"name": "Lobby"} and "event_id" in full
    assert room.bob.get(f"{base}/m.room.name", format="content").json == {
        "name": "Lobby"
    }
    bad = room.bob.get(f"{base}/m.room.name", format="xml")
    assert bad.code == 400 and bad.json["errcode"] == "M_INVALID_PARAM"
    missing = room.bob.get(f"{base}/m.room.avatar")
    assert missing.code == 404 and missing.json["errcode"] == "M_NOT_FOUND"
    missing = room.bob.get(f"{base}/m.room.name/nokey")
    assert missing.code == 404
    assert room.carol.get(f"{base}/m.room.name").code == 403
    assert room.bob.get("/rooms/!nowhere:test/state/m.room.name").code == 404
    # The PUT route at the same paths still works.
    assert room.alice.put_state(room.id, "m.room.name", {"name": "Hall"}).code == 200
    assert room.bob.get(f"{base}/m.room.name").json == {"name": "Hall"}


def test_departed_member_sees_state_as_they_left(
    server: TestServer, room: Room
) -> None:
    room_id, bob = room.id, room.bob
    assert bob.membership(room_id, "leave").code == 200
    room.alice.put_state(room_id, "m.room.topic", {"topic": "after bob"})
    room.carol.membership(room_id, "join")
    topic = bob.get(f"/rooms/{room_id}/state/m.room.topic")
    assert topic.code == 200 and topic.json["topic"] == "v1"
    state = bob.get(f"/rooms/{room_id}/state").json
    members = {
        e["state_key"]: e["content"]["membership"]
        for e in state
        if e["type"] == "m.room.member"
    }
    assert members == {room.alice.user_id: "join", room.bob.user_id: "leave"}
    chunk = bob.get(f"/rooms/{room_id}/members").json["chunk"]
    assert {e["state_key"] for e in chunk} == {room.alice.user_id, room.bob.user_id}
    resp = bob.get(f"/rooms/{room_id}/joined_members")
    assert resp.code == 403
    # Still joined users see the present.
    present = room.alice.get(f"/rooms/{room_id}/state/m.room.topic").json
    assert present == {"topic": "after bob"}


def test_members_filters(server: TestServer, room: Room) -> None:
    room_id = room.id
    dave = server.user("dave")
    room.alice.membership(room_id, "invite", user_id=room.carol.user_id)
    dave.membership(room_id, "join")
    dave.membership(room_id, "leave")
    path = f"/rooms/{room_id}/members"

    def listed(**query: str) -> dict[str, str]:
        resp = room.bob.get(path, **query)
        assert resp.code == 200, resp.json
        return {e["state_key"]: e["content"]["membership"] for e in resp.json["chunk"]}

    everyone = {
        room.alice.user_id: "join",
        room.bob.user_id: "join",
        room.carol.user_id: "invite",
        dave.user_id: "leave",
    }
    assert listed() == everyone
    assert listed(membership="join") == {
        room.alice.user_id: "join",
        room.bob.user_id: "join",
    }
    assert listed(not_membership="join") == {
        room.carol.user_id: "invite",
        dave.user_id: "leave",
    }
    # Both: either/or, as the spec says.
    assert listed(membership="leave", not_membership="invite") == {
        k: v for k, v in everyone.items() if v != "invite"
    }
    bad = room.bob.get(path, membership="friends")
    assert bad.code == 400 and bad.json["errcode"] == "M_INVALID_PARAM"
    assert room.carol.get(path).code == 403  # invited is not joined
    assert room.bob.get("/rooms/!nowhere:test/members").code == 404


def test_members_at_a_point_in_time(server: TestServer, room: Room) -> None:
    room_id = room.id
    first = say(room.alice, room_id, "before carol")
    room.carol.membership(room_id, "join")
    context = room.bob.get(f"/rooms/{room_id}/context/{first}", limit=0).json
    at = context["end"]
    resp = room.bob.get(f"/rooms/{room_id}/members", at=at)
    assert resp.code == 200
    assert {e["state_key"] for e in resp.json["chunk"]} == {
        room.alice.user_id,
        room.bob.user_id,
    }
    now = room.bob.get(f"/rooms/{room_id}/members").json["chunk"]
    assert room.carol.user_id in {e["state_key"] for e in now}
    bad = room.bob.get(f"/rooms/{room_id}/members", at="yesterday")
    assert bad.code == 400 and bad.json["errcode"] == "M_INVALID_PARAM"


def test_members_at_a_point_the_user_may_not_see(server: TestServer) -> None:
    alice = server.user("alice")
    bob = server.user("bob")
    room_id = alice.create_room(preset="public_chat")
    alice.put_state(
        room_id, "m.room.history_visibility", {"history_visibility": "joined"}
    )
    early = say(alice, room_id, "early")
    bob.membership(room_id, "join")
    at = alice.get(f"/rooms/{room_id}/context/{early}", limit=0).json["end"]
    resp = bob.get(f"/rooms/{room_id}/members", at=at)
    assert resp.code == 403


def test_joined_members(server: TestServer, room: Room) -> None:
    profile = room.alice.put(
        f"{CLIENT}/profile/{room.alice.user_id}/avatar_url",
        {"avatar_url": "mxc://test/alice"},
    )
    assert profile.code == 200
    room.carol.membership(room.id, "join")
    room.carol.membership(room.id, "leave")
    resp = room.bob.get(f"/rooms/{room.id}/joined_members")
    assert resp.code == 200
    joined = resp.json["joined"]
    assert set(joined) == {room.alice.user_id, room.bob.user_id}
    # Both keys on every entry, null when unset (as Synapse answers).
    assert joined[room.bob.user_id] == {"display_name": "bob", "avatar_url": None}
    # The avatar set after alice joined reached her member event.
    assert joined[room.alice.user_id]["avatar_url"] == "mxc://test/alice"
    assert room.carol.get(f"/rooms/{room.id}/joined_members").code == 403
    assert room.bob.get("/rooms/!nowhere:test/joined_members").code == 404


def test_world_readable_room_can_be_read_by_anyone(
    server: TestServer, room: dict
) -> None:
    room.alice.put_state(
        room.id, "m.room.history_visibility", {"history_visibility": "world_readable"}
    )
    carol = room.carol
    assert carol.get(f"/rooms/{room.id}/state").code == 200
    assert carol.get(f"/rooms/{room.id}/members").code == 200
    assert carol.get(f"/rooms/{room.id}/state/m.room.name").json == {"name": "Lobby"}
    assert carol.get(f"/rooms/{room.id}/joined_members").code == 403
