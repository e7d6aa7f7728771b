"""createRoom, membership changes, sending, state and redaction (write paths)."""

from __future__ import annotations

import pytest

from tests.harness import TestServer
from tests.rooms.helpers import (
    CLIENT,
    create_room,
    current_state,
    member_of,
    membership,
    put_state,
    send,
)


@pytest.fixture
def users(server: TestServer) -> dict[str, tuple[str, str]]:
    return {name: server.register(name) for name in ("alice", "bob", "carol")}


def test_private_chat_defaults(server: TestServer, users: dict) -> None:
    alice, token = users["alice"]
    room_id = create_room(server, token, name="Team", topic="Plans")
    state = current_state(server, room_id)
    assert state[("m.room.create", "")]["room_version"] == "10"
    assert state[("m.room.member", alice)]["membership"] == "join"
    assert state[("m.room.power_levels", "")]["users"] == {alice: 100}
    assert state[("m.room.join_rules", "")] == {"join_rule": "invite"}
    assert state[("m.room.history_visibility", "")] == {"history_visibility": "shared"}
    assert state[("m.room.guest_access", "")] == {"guest_access": "can_join"}
    assert state[("m.room.name", "")] == {"name": "Team"}
    assert state[("m.room.topic", "")]["topic"] == "Plans"


@pytest.mark.parametrize("version", [str(v) for v in range(1, 13)])
def test_every_room_version_can_be_created_and_used(
    server: TestServer, users: dict, version: str
) -> None:
    alice, token = users["alice"]
    bob, bob_token = users["bob"]
    room_id = create_room(server, token, room_version=version, preset="public_chat")
    assert membership(server, bob_token, room_id, "join").code == 200
    assert (
        send(server, bob_token, room_id, {"msgtype": "m.text", "body": "hi"}).code
        == 200
    )
    assert member_of(server, room_id, bob) == "join"
    if version == "12":
        state = current_state(server, room_id)
        assert alice not in state[("m.room.power_levels", "")]["users"]


def test_unknown_room_version(server: TestServer, users: dict) -> None:
    resp = server.request(
        "POST", f"{CLIENT}/createRoom", {"room_version": "99"}, token=users["alice"][1]
    )
    assert resp.code == 400
    assert resp.json["errcode"] == "M_UNSUPPORTED_ROOM_VERSION"


def test_invite_join_leave_kick_ban(server: TestServer, users: dict) -> None:
    alice, a_tok = users["alice"]
    bob, b_tok = users["bob"]
    room_id = create_room(server, a_tok)
    # Private room: bob cannot join uninvited.
    resp = membership(server, b_tok, room_id, "join")
    assert resp.code == 403, resp.json
    assert resp.json["errcode"] == "M_FORBIDDEN"
    assert membership(server, a_tok, room_id, "invite", user_id=bob).code == 200
    assert member_of(server, room_id, bob) == "invite"
    assert membership(server, b_tok, room_id, "join").code == 200
    assert member_of(server, room_id, bob) == "join"
    # Bob (power 0) cannot kick alice.
    assert membership(server, b_tok, room_id, "kick", user_id=alice).code == 403
    assert (
        membership(server, a_tok, room_id, "kick", user_id=bob, reason="bye").code
        == 200
    )
    assert member_of(server, room_id, bob) == "leave"
    assert membership(server, a_tok, room_id, "ban", user_id=bob).code == 200
    assert member_of(server, room_id, bob) == "ban"
    assert membership(server, a_tok, room_id, "invite", user_id=bob).code == 403
    assert membership(server, a_tok, room_id, "unban", user_id=bob).code == 200
    assert member_of(server, room_id, bob) == "leave"


def test_send_is_idempotent_per_transaction(server: TestServer, users: dict) -> None:
    _, token = users["alice"]
    room_id = create_room(server, token)
    first = send(
        server, token, room_id, {"body": "x", "msgtype": "m.text"}, txn_id="same"
    )
    again = send(
        server, token, room_id, {"body": "x", "msgtype": "m.text"}, txn_id="same"
    )
    assert first.code == again.code == 200
    assert first.json["event_id"] == again.json["event_id"]


def test_non_member_cannot_send(server: TestServer, users: dict) -> None:
    _, a_tok = users["alice"]
    _, b_tok = users["bob"]
    room_id = create_room(server, a_tok)
    before = current_state(server, room_id)
    resp = send(server, b_tok, room_id, {"body": "x", "msgtype": "m.text"})
    assert resp.code == 403
    assert current_state(server, room_id) == before


def test_state_needs_power(server: TestServer, users: dict) -> None:
    _, a_tok = users["alice"]
    bob, b_tok = users["bob"]
    room_id = create_room(server, a_tok, preset="public_chat")
    membership(server, b_tok, room_id, "join")
    assert (
        put_state(server, b_tok, room_id, "m.room.topic", {"topic": "no"}).code == 403
    )
    assert (
        put_state(server, a_tok, room_id, "m.room.topic", {"topic": "yes"}).code == 200
    )
    assert current_state(server, room_id)[("m.room.topic", "")] == {"topic": "yes"}


def test_redaction_by_sender_and_by_power(server: TestServer, users: dict) -> None:
    _, a_tok = users["alice"]
    _, b_tok = users["bob"]
    _, c_tok = users["carol"]
    room_id = create_room(server, a_tok, preset="public_chat")
    membership(server, b_tok, room_id, "join")
    membership(server, c_tok, room_id, "join")
    event_id = send(server, b_tok, room_id, {"body": "oops", "msgtype": "m.text"}).json[
        "event_id"
    ]
    resp = server.request(
        "PUT", f"{CLIENT}/rooms/{room_id}/redact/{event_id}/r1", {}, token=c_tok
    )
    assert resp.code == 403, resp.json
    resp = server.request(
        "PUT",
        f"{CLIENT}/rooms/{room_id}/redact/{event_id}/r2",
        {"reason": "spam"},
        token=a_tok,
    )
    assert resp.code == 200, resp.json
    event = server.get_success(server.hs.core.events.get_event(event_id))
    assert event.redacted_by == resp.json["event_id"]


def test_room_alias_on_create(server: TestServer, users: dict) -> None:
    _, token = users["alice"]
    room_id = create_room(server, token, room_alias_name="lobby")
    state = current_state(server, room_id)
    assert state[("m.room.canonical_alias", "")] == {"alias": "#lobby:test"}
    resp = server.request(
        "POST", f"{CLIENT}/createRoom", {"room_alias_name": "lobby"}, token=token
    )
    assert resp.code == 400
    assert resp.json["errcode"] == "M_ROOM_IN_USE"
    _, b_tok = users["bob"]
    assert (
        server.request("POST", f"{CLIENT}/join/%23lobby:test", {}, token=b_tok).code
        == 403
    )


def test_joined_rooms_and_forget(server: TestServer, users: dict) -> None:
    _, token = users["alice"]
    room_id = create_room(server, token)
    resp = server.request("GET", f"{CLIENT}/joined_rooms", token=token)
    assert resp.json == {"joined_rooms": [room_id]}
    assert (
        server.request("POST", f"{CLIENT}/rooms/{room_id}/forget", {}, token=token).code
        == 400
    )
    assert membership(server, token, room_id, "leave").code == 200
    assert server.request("GET", f"{CLIENT}/joined_rooms", token=token).json == {
        "joined_rooms": []
    }
    assert (
        server.request("POST", f"{CLIENT}/rooms/{room_id}/forget", {}, token=token).code
        == 200
    )


def test_restricted_join_via_membership_of_another_room(
    server: TestServer, users: dict
) -> None:
    alice, a_tok = users["alice"]
    bob, b_tok = users["bob"]
    _, c_tok = users["carol"]
    space = create_room(server, a_tok, preset="public_chat")
    membership(server, b_tok, space, "join")
    room_id = create_room(
        server,
        a_tok,
        room_version="10",
        initial_state=[
            {
                "type": "m.room.join_rules",
                "state_key": "",
                "content": {
                    "join_rule": "restricted",
                    "allow": [{"type": "m.room_membership", "room_id": space}],
                },
            }
        ],
    )
    resp = membership(server, c_tok, room_id, "join")
    assert resp.code == 403, resp.json
    resp = membership(server, b_tok, room_id, "join")
    assert resp.code == 200, resp.json
    event_id = server.get_success(
        server.hs.core.room_state.get_membership(room_id, bob)
    )[1]
    event = server.get_success(server.hs.core.events.get_event(event_id))
    assert event.content["join_authorised_via_users_server"] == alice


def test_knock_needs_a_knock_room_version(server: TestServer, users: dict) -> None:
    _, a_tok = users["alice"]
    bob, b_tok = users["bob"]
    knock_rules = [
        {
            "type": "m.room.join_rules",
            "state_key": "",
            "content": {"join_rule": "knock"},
        }
    ]
    room_id = create_room(server, a_tok, room_version="7", initial_state=knock_rules)
    resp = server.request(
        "POST", f"{CLIENT}/knock/{room_id}", {"reason": "hi"}, token=b_tok
    )
    assert resp.code == 200, resp.json
    assert member_of(server, room_id, bob) == "knock"
    old = create_room(server, a_tok, room_version="6", initial_state=knock_rules)
    resp = server.request("POST", f"{CLIENT}/knock/{old}", {}, token=b_tok)
    assert resp.code == 403
