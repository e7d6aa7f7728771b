"""GET /event, /state, /state/{type}/{key}, /members, /joined_members; unsigned.

Spec: client-server API, "Getting events for a room", "Room membership".
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.server import TestServer
from tests.reading.helpers import event_json, get, login_again, messages, say
from tests.rooms.helpers import CLIENT, create_room, membership, put_state, send


@pytest.fixture
def room(server: TestServer) -> dict[str, Any]:
    alice, a_tok = server.register("alice")
    bob, b_tok = server.register("bob")
    carol, c_tok = server.register("carol")
    room_id = create_room(server, a_tok, preset="public_chat", name="Lobby", topic="v1")
    assert membership(server, b_tok, room_id, "join").code == 200
    return {
        "id": room_id,
        "alice": alice,
        "a": a_tok,
        "bob": bob,
        "b": b_tok,
        "carol": carol,
        "c": c_tok,
    }


def test_get_event(server: TestServer, room: dict) -> None:
    event_id = say(server, room["a"], room["id"], "hello")
    resp = event_json(server, room["b"], room["id"], event_id)
    assert resp.code == 200
    body = resp.json
    assert body["event_id"] == event_id and body["room_id"] == room["id"]
    assert body["sender"] == room["alice"] and body["content"]["body"] == "hello"
    assert {"origin_server_ts", "type", "unsigned"} <= body.keys()
    assert "age" in body["unsigned"]
    for bad_room, bad_event in (
        (room["id"], "$unknown"),
        ("!nowhere:test", event_id),
    ):
        resp = event_json(server, room["b"], bad_room, bad_event)
        assert resp.code == 404 and resp.json["errcode"] == "M_NOT_FOUND"
    other = create_room(server, room["a"], preset="public_chat")
    assert event_json(server, room["a"], other, event_id).code == 404
    resp = get(
        server, room["b"], f"/_matrix/client/r0/rooms/{room['id']}/event/{event_id}"
    )
    assert resp.code == 200


def test_transaction_id_only_for_the_sending_device(
    server: TestServer, room: dict
) -> None:
    resp = send(
        server,
        room["a"],
        room["id"],
        {"msgtype": "m.text", "body": "x"},
        txn_id="my-txn",
    )
    event_id = resp.json["event_id"]
    own = event_json(server, room["a"], room["id"], event_id).json
    assert own["unsigned"]["transaction_id"] == "my-txn"
    other_device = login_again(server, "alice")
    assert (
        "transaction_id"
        not in event_json(server, other_device, room["id"], event_id).json["unsigned"]
    )
    assert (
        "transaction_id"
        not in event_json(server, room["b"], room["id"], event_id).json["unsigned"]
    )
    chunk = messages(server, room["a"], room["id"], limit=1).json["chunk"]
    assert chunk[0]["unsigned"]["transaction_id"] == "my-txn"
    chunk = messages(server, other_device, room["id"], limit=1).json["chunk"]
    assert "transaction_id" not in chunk[0]["unsigned"]


def test_redacted_events_are_served_redacted(server: TestServer, room: dict) -> None:
    event_id = say(server, room["a"], room["id"], "oops", extra="secret")
    resp = server.request(
        "PUT",
        f"{CLIENT}/rooms/{room['id']}/redact/{event_id}/r1",
        {"reason": "typo"},
        token=room["a"],
    )
    assert resp.code == 200
    redaction_id = resp.json["event_id"]
    for served in (
        event_json(server, room["b"], room["id"], event_id).json,
        next(
            e
            for e in messages(server, room["b"], room["id"]).json["chunk"]
            if e["event_id"] == event_id
        ),
        get(server, room["b"], f"/rooms/{room['id']}/context/{event_id}").json["event"],
    ):
        assert served["content"] == {}
        because = served["unsigned"]["redacted_because"]
        assert because["event_id"] == redaction_id
        assert because["content"]["reason"] == "typo"
    redaction = event_json(server, room["b"], room["id"], redaction_id).json
    assert redaction["type"] == "m.room.redaction"


def test_prev_content_on_state_changes(server: TestServer, room: dict) -> None:
    put_state(server, room["a"], room["id"], "m.room.topic", {"topic": "v2"})
    topic = messages(server, room["b"], room["id"], limit=1).json["chunk"][0]
    assert topic["type"] == "m.room.topic" and topic["content"] == {"topic": "v2"}
    assert topic["unsigned"]["prev_content"]["topic"] == "v1"
    assert topic["unsigned"]["replaces_state"]
    state_event = get(
        server, room["b"], f"/rooms/{room['id']}/state/m.room.topic", format="event"
    ).json
    assert state_event["unsigned"]["prev_content"]["topic"] == "v1"


def test_full_state(server: TestServer, room: dict) -> None:
    resp = get(server, room["b"], f"/rooms/{room['id']}/state")
    assert resp.code == 200
    keys = {(e["type"], e["state_key"]) for e in resp.json}
    assert {
        ("m.room.create", ""),
        ("m.room.name", ""),
        ("m.room.topic", ""),
        ("m.room.member", room["alice"]),
        ("m.room.member", room["bob"]),
        ("m.room.power_levels", ""),
        ("m.room.join_rules", ""),
    } <= keys
    assert all("event_id" in e and "room_id" in e for e in resp.json)
    assert get(server, room["b"], "/rooms/!nowhere:test/state").code == 404
    resp = get(server, room["c"], f"/rooms/{room['id']}/state")
    assert resp.code == 403 and resp.json["errcode"] == "M_FORBIDDEN"


def test_single_state_event(server: TestServer, room: dict) -> None:
    base = f"/rooms/{room['id']}/state"
    assert get(server, room["b"], f"{base}/m.room.name").json == {"name": "Lobby"}
    assert get(server, room["b"], f"{base}/m.room.name/").json == {"name": "Lobby"}
    member = get(server, room["b"], f"{base}/m.room.member/{room['alice']}")
    assert member.code == 200 and member.json["membership"] == "join"
    full = get(server, room["b"], f"{base}/m.room.name", format="event").json
    assert full["type"] == "m.room.name" and full["state_key"] == ""
    assert full["content"] == {"name": "Lobby"} and "event_id" in full
    assert get(server, room["b"], f"{base}/m.room.name", format="content").json == {
        "name": "Lobby"
    }
    bad = get(server, room["b"], f"{base}/m.room.name", format="xml")
    assert bad.code == 400 and bad.json["errcode"] == "M_INVALID_PARAM"
    missing = get(server, room["b"], f"{base}/m.room.avatar")
    assert missing.code == 404 and missing.json["errcode"] == "M_NOT_FOUND"
    missing = get(server, room["b"], f"{base}/m.room.name/nokey")
    assert missing.code == 404
    assert get(server, room["c"], f"{base}/m.room.name").code == 403
    assert get(server, room["b"], "/rooms/!nowhere:test/state/m.room.name").code == 404
    # The PUT route at the same paths still works.
    assert (
        put_state(server, room["a"], room["id"], "m.room.name", {"name": "Hall"}).code
        == 200
    )
    assert get(server, room["b"], f"{base}/m.room.name").json == {"name": "Hall"}


def test_departed_member_sees_state_as_they_left(
    server: TestServer, room: dict
) -> None:
    room_id, b_tok = room["id"], room["b"]
    assert membership(server, b_tok, room_id, "leave").code == 200
    put_state(server, room["a"], room_id, "m.room.topic", {"topic": "after bob"})
    membership(server, room["c"], room_id, "join")
    topic = get(server, b_tok, f"/rooms/{room_id}/state/m.room.topic")
    assert topic.code == 200 and topic.json["topic"] == "v1"
    state = get(server, b_tok, f"/rooms/{room_id}/state").json
    members = {
        e["state_key"]: e["content"]["membership"]
        for e in state
        if e["type"] == "m.room.member"
    }
    assert members == {room["alice"]: "join", room["bob"]: "leave"}
    chunk = get(server, b_tok, f"/rooms/{room_id}/members").json["chunk"]
    assert {e["state_key"] for e in chunk} == {room["alice"], room["bob"]}
    resp = get(server, b_tok, f"/rooms/{room_id}/joined_members")
    assert resp.code == 403
    # Still joined users see the present.
    present = get(server, room["a"], f"/rooms/{room_id}/state/m.room.topic").json
    assert present == {"topic": "after bob"}


def test_members_filters(server: TestServer, room: dict) -> None:
    room_id = room["id"]
    dave, d_tok = server.register("dave")
    membership(server, room["a"], room_id, "invite", user_id=room["carol"])
    membership(server, d_tok, room_id, "join")
    membership(server, d_tok, room_id, "leave")
    path = f"/rooms/{room_id}/members"

    def listed(**query: str) -> dict[str, str]:
        resp = get(server, room["b"], path, **query)
        assert resp.code == 200, resp.json
        return {e["state_key"]: e["content"]["membership"] for e in resp.json["chunk"]}

    everyone = {
        room["alice"]: "join",
        room["bob"]: "join",
        room["carol"]: "invite",
        dave: "leave",
    }
    assert listed() == everyone
    assert listed(membership="join") == {room["alice"]: "join", room["bob"]: "join"}
    assert listed(not_membership="join") == {room["carol"]: "invite", dave: "leave"}
    # Both: either/or, as the spec says.
    assert listed(membership="leave", not_membership="invite") == {
        k: v for k, v in everyone.items() if v != "invite"
    }
    bad = get(server, room["b"], path, membership="friends")
    assert bad.code == 400 and bad.json["errcode"] == "M_INVALID_PARAM"
    assert get(server, room["c"], path).code == 403  # invited is not joined
    assert get(server, room["b"], "/rooms/!nowhere:test/members").code == 404


def test_members_at_a_point_in_time(server: TestServer, room: dict) -> None:
    room_id = room["id"]
    first = say(server, room["a"], room_id, "before carol")
    membership(server, room["c"], room_id, "join")
    context = get(server, room["b"], f"/rooms/{room_id}/context/{first}", limit=0).json
    at = context["end"]
    resp = get(server, room["b"], f"/rooms/{room_id}/members", at=at)
    assert resp.code == 200
    assert {e["state_key"] for e in resp.json["chunk"]} == {room["alice"], room["bob"]}
    now = get(server, room["b"], f"/rooms/{room_id}/members").json["chunk"]
    assert room["carol"] in {e["state_key"] for e in now}
    bad = get(server, room["b"], f"/rooms/{room_id}/members", at="yesterday")
    assert bad.code == 400 and bad.json["errcode"] == "M_INVALID_PARAM"


def test_members_at_a_point_the_user_may_not_see(server: TestServer) -> None:
    _, a_tok = server.register("alice")
    _, b_tok = server.register("bob")
    room_id = create_room(server, a_tok, preset="public_chat")
    put_state(
        server,
        a_tok,
        room_id,
        "m.room.history_visibility",
        {"history_visibility": "joined"},
    )
    early = say(server, a_tok, room_id, "early")
    membership(server, b_tok, room_id, "join")
    at = get(server, a_tok, f"/rooms/{room_id}/context/{early}", limit=0).json["end"]
    resp = get(server, b_tok, f"/rooms/{room_id}/members", at=at)
    assert resp.code == 403


def test_joined_members(server: TestServer, room: dict) -> None:
    profile = server.request(
        "PUT",
        f"{CLIENT}/profile/{room['alice']}/avatar_url",
        {"avatar_url": "mxc://test/alice"},
        token=room["a"],
    )
    assert profile.code == 200
    membership(server, room["c"], room["id"], "join")
    membership(server, room["c"], room["id"], "leave")
    resp = get(server, room["b"], f"/rooms/{room['id']}/joined_members")
    assert resp.code == 200
    joined = resp.json["joined"]
    assert set(joined) == {room["alice"], room["bob"]}
    assert joined[room["bob"]]["display_name"] == "bob"
    assert get(server, room["c"], f"/rooms/{room['id']}/joined_members").code == 403
    assert get(server, room["b"], "/rooms/!nowhere:test/joined_members").code == 404


def test_world_readable_room_can_be_read_by_anyone(
    server: TestServer, room: dict
) -> None:
    put_state(
        server,
        room["a"],
        room["id"],
        "m.room.history_visibility",
        {"history_visibility": "world_readable"},
    )
    carol = room["c"]
    assert get(server, carol, f"/rooms/{room['id']}/state").code == 200
    assert get(server, carol, f"/rooms/{room['id']}/members").code == 200
    assert get(server, carol, f"/rooms/{room['id']}/state/m.room.name").json == {
        "name": "Lobby"
    }
    assert get(server, carol, f"/rooms/{room['id']}/joined_members").code == 403
