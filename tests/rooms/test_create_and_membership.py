"""createRoom, membership changes, sending, state and redaction (write paths)."""

from __future__ import annotations

import pytest

from tests.rooms.helpers import current_state, member_of
from tests.support import CLIENT, User
from tests.support.server import TestServer


@pytest.fixture
def users(server: TestServer) -> dict[str, User]:
    return {name: server.user(name) for name in ("alice", "bob", "carol")}


def test_private_chat_defaults(server: TestServer, users: dict) -> None:
    alice = users["alice"]
    room_id = alice.create_room(name="Team", topic="Plans")
    state = current_state(server, room_id)
    assert state[("m.room.create", "")]["room_version"] == "10"
    assert state[("m.room.member", alice.user_id)]["membership"] == "join"
    assert state[("m.room.power_levels", "")]["users"] == {alice.user_id: 100}
    assert state[("m.room.join_rules", "")] == {"join_rule": "invite"}
    assert state[("m.room.history_visibility", "")] == {"history_visibility": "shared"}
    assert state[("m.room.guest_access", "")] == {"guest_access": "can_join"}
    assert state[("m.room.name", "")] == {"name": "Team"}
    assert state[("m.room.topic", "")]["topic"] == "Plans"


@pytest.mark.parametrize("version", [str(v) for v in range(1, 13)])
def test_every_room_version_can_be_created_and_used(
    server: TestServer, users: dict, version: str
) -> None:
    alice = users["alice"]
    bob = users["bob"]
    room_id = alice.create_room(room_version=version, preset="public_chat")
    assert bob.membership(room_id, "join").code == 200
    assert bob.send_event(room_id, {"msgtype": "m.text", "body": "hi"}).code == 200
    assert member_of(server, room_id, bob.user_id) == "join"
    if version == "12":
        state = current_state(server, room_id)
        assert alice.user_id not in state[("m.room.power_levels", "")]["users"]


def test_trusted_private_chat_v12_makes_invitees_creators(
    server: TestServer, users: dict
) -> None:
    """Spec (createRoom): with trusted_private_chat the invitees are appended
    to additional_creators (once, after those given); in room version 12 a
    creator is not listed in the power levels."""
    alice, bob, carol = users["alice"], users["bob"], users["carol"]
    room_id = alice.create_room(
        room_version="12",
        preset="trusted_private_chat",
        is_direct=True,
        invite=[bob.user_id, carol.user_id],
        creation_content={"additional_creators": [carol.user_id]},
    )
    state = current_state(server, room_id)
    creators = state[("m.room.create", "")]["additional_creators"]
    assert creators == [carol.user_id, bob.user_id]
    assert state[("m.room.power_levels", "")]["users"] == {}
    # Bob is a creator: he joins and may change the power levels at once.
    assert bob.membership(room_id, "join").code == 200
    content = {"users": {}, "events": {"m.room.name": 100}}
    resp = bob.put(f"/rooms/{room_id}/state/m.room.power_levels/", content)
    assert resp.code == 200, resp.json


def test_trusted_private_chat_before_v12_makes_invitees_admins(
    server: TestServer, users: dict
) -> None:
    alice, bob = users["alice"], users["bob"]
    room_id = alice.create_room(
        room_version="11", preset="trusted_private_chat", invite=[bob.user_id]
    )
    state = current_state(server, room_id)
    assert "additional_creators" not in state[("m.room.create", "")]
    users_levels = state[("m.room.power_levels", "")]["users"]
    assert users_levels == {alice.user_id: 100, bob.user_id: 100}


def test_unknown_room_version(server: TestServer, users: dict) -> None:
    resp = users["alice"].post(f"{CLIENT}/createRoom", {"room_version": "99"})
    assert resp.code == 400
    assert resp.json["errcode"] == "M_UNSUPPORTED_ROOM_VERSION"


def test_invite_join_leave_kick_ban(server: TestServer, users: dict) -> None:
    alice = users["alice"]
    bob = users["bob"]
    room_id = alice.create_room()
    # Private room: bob cannot join uninvited.
    resp = bob.membership(room_id, "join")
    assert resp.code == 403, resp.json
    assert resp.json["errcode"] == "M_FORBIDDEN"
    assert alice.membership(room_id, "invite", user_id=bob.user_id).code == 200
    assert member_of(server, room_id, bob.user_id) == "invite"
    assert bob.membership(room_id, "join").code == 200
    assert member_of(server, room_id, bob.user_id) == "join"
    # Bob (power 0) cannot kick alice.
    assert bob.membership(room_id, "kick", user_id=alice.user_id).code == 403
    assert (
        alice.membership(room_id, "kick", user_id=bob.user_id, reason="bye").code == 200
    )
    assert member_of(server, room_id, bob.user_id) == "leave"
    assert alice.membership(room_id, "ban", user_id=bob.user_id).code == 200
    assert member_of(server, room_id, bob.user_id) == "ban"
    assert alice.membership(room_id, "invite", user_id=bob.user_id).code == 403
    assert alice.membership(room_id, "unban", user_id=bob.user_id).code == 200
    assert member_of(server, room_id, bob.user_id) == "leave"


def test_send_is_idempotent_per_transaction(server: TestServer, users: dict) -> None:
    alice = users["alice"]
    room_id = alice.create_room()
    first = alice.send_event(room_id, {"body": "x", "msgtype": "m.text"}, txn_id="same")
    again = alice.send_event(room_id, {"body": "x", "msgtype": "m.text"}, txn_id="same")
    assert first.code == again.code == 200
    assert first.json["event_id"] == again.json["event_id"]


def test_a_transaction_id_is_scoped_to_its_endpoint(
    server: TestServer, users: dict
) -> None:
    """The same ID on another event type, or on redact, is another request."""
    alice = users["alice"]
    room_id = alice.create_room()
    message = alice.send_event(room_id, {"body": "x", "msgtype": "m.text"}, txn_id="t1")
    other = alice.send_event(room_id, {"k": 1}, "org.example.thing", txn_id="t1")
    assert other.code == 200
    assert other.json["event_id"] != message.json["event_id"]
    path = f"{CLIENT}/rooms/{room_id}/redact/{message.json['event_id']}/t1"
    redaction = alice.request("PUT", path, {"reason": "oops"})
    assert redaction.code == 200
    assert redaction.json["event_id"] not in (
        message.json["event_id"],
        other.json["event_id"],
    )
    assert alice.request("PUT", path, {"reason": "oops"}).json == redaction.json
    event = alice.request(
        "GET", f"{CLIENT}/rooms/{room_id}/event/{message.json['event_id']}"
    )
    assert event.json["content"] == {}


def test_non_member_cannot_send(server: TestServer, users: dict) -> None:
    alice = users["alice"]
    bob = users["bob"]
    room_id = alice.create_room()
    before = current_state(server, room_id)
    resp = bob.send_event(room_id, {"body": "x", "msgtype": "m.text"})
    assert resp.code == 403
    assert current_state(server, room_id) == before


def test_state_needs_power(server: TestServer, users: dict) -> None:
    alice = users["alice"]
    bob = users["bob"]
    room_id = alice.create_room(preset="public_chat")
    bob.membership(room_id, "join")
    assert bob.put_state(room_id, "m.room.topic", {"topic": "no"}).code == 403
    assert alice.put_state(room_id, "m.room.topic", {"topic": "yes"}).code == 200
    assert current_state(server, room_id)[("m.room.topic", "")] == {"topic": "yes"}


def test_redaction_by_sender_and_by_power(server: TestServer, users: dict) -> None:
    alice = users["alice"]
    bob = users["bob"]
    carol = users["carol"]
    room_id = alice.create_room(preset="public_chat")
    bob.membership(room_id, "join")
    carol.membership(room_id, "join")
    event_id = bob.send_event(room_id, {"body": "oops", "msgtype": "m.text"}).json[
        "event_id"
    ]
    resp = carol.put(f"{CLIENT}/rooms/{room_id}/redact/{event_id}/r1", {})
    assert resp.code == 403, resp.json
    resp = alice.put(
        f"{CLIENT}/rooms/{room_id}/redact/{event_id}/r2", {"reason": "spam"}
    )
    assert resp.code == 200, resp.json
    event = server.get_success(server.hs.core.events.get_event(event_id))
    assert event.redacted_by == resp.json["event_id"]


def test_room_alias_on_create(server: TestServer, users: dict) -> None:
    alice = users["alice"]
    room_id = alice.create_room(room_alias_name="lobby")
    state = current_state(server, room_id)
    assert state[("m.room.canonical_alias", "")] == {"alias": "#lobby:test"}
    resp = alice.post(f"{CLIENT}/createRoom", {"room_alias_name": "lobby"})
    assert resp.code == 400
    assert resp.json["errcode"] == "M_ROOM_IN_USE"
    bob = users["bob"]
    assert bob.post(f"{CLIENT}/join/%23lobby:test", {}).code == 403


def test_joined_rooms_and_forget(server: TestServer, users: dict) -> None:
    alice = users["alice"]
    room_id = alice.create_room()
    resp = alice.get(f"{CLIENT}/joined_rooms")
    assert resp.json == {"joined_rooms": [room_id]}
    assert alice.post(f"{CLIENT}/rooms/{room_id}/forget", {}).code == 400
    assert alice.membership(room_id, "leave").code == 200
    assert alice.get(f"{CLIENT}/joined_rooms").json == {"joined_rooms": []}
    assert alice.post(f"{CLIENT}/rooms/{room_id}/forget", {}).code == 200


def test_restricted_join_via_membership_of_another_room(
    server: TestServer, users: dict
) -> None:
    alice = users["alice"]
    bob = users["bob"]
    carol = users["carol"]
    space = alice.create_room(preset="public_chat")
    bob.membership(space, "join")
    room_id = alice.create_room(
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
    resp = carol.membership(room_id, "join")
    assert resp.code == 403, resp.json
    resp = bob.membership(room_id, "join")
    assert resp.code == 200, resp.json
    event_id = server.get_success(
        server.hs.core.room_state.get_membership(room_id, bob.user_id)
    )[1]
    event = server.get_success(server.hs.core.events.get_event(event_id))
    assert event.content["join_authorised_via_users_server"] == alice.user_id


def test_knock_needs_a_knock_room_version(server: TestServer, users: dict) -> None:
    alice = users["alice"]
    bob = users["bob"]
    knock_rules = [
        {
            "type": "m.room.join_rules",
            "state_key": "",
            "content": {"join_rule": "knock"},
        }
    ]
    room_id = alice.create_room(room_version="7", initial_state=knock_rules)
    resp = bob.post(f"{CLIENT}/knock/{room_id}", {"reason": "hi"})
    assert resp.code == 200, resp.json
    assert member_of(server, room_id, bob.user_id) == "knock"
    old = alice.create_room(room_version="6", initial_state=knock_rules)
    resp = bob.post(f"{CLIENT}/knock/{old}", {})
    assert resp.code == 403
