"""POST /rooms/{roomId}/upgrade: the new room, the tombstone, aliases, restrictions."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from tests.rooms.helpers import current_state, member_of
from tests.support import CLIENT, User
from tests.support.server import FakeResponse, TestServer

Users = dict[str, User]
COPIED = {
    "m.room.join_rules": {"join_rule": "public"},
    "m.room.history_visibility": {"history_visibility": "world_readable"},
    "m.room.guest_access": {"guest_access": "forbidden"},
    "m.room.name": {"name": "Old room"},
    "m.room.avatar": {"url": "mxc://test/avatar"},
    "m.room.encryption": {"algorithm": "m.megolm.v1.aes-sha2"},
    "m.room.server_acl": {
        "allow": ["*"],
        "deny": ["evil.example"],
        "allow_ip_literals": False,
    },
}


@pytest.fixture
def users(server: TestServer) -> Users:
    return {name: server.user(name) for name in ("alice", "bob", "carol", "dave")}


def upgrade(
    server: TestServer, token: str | None, room_id: str, body: Any
) -> FakeResponse:
    return server.request(
        "POST", f"{CLIENT}/rooms/{room_id}/upgrade", body, token=token
    )


def alias_target(server: TestServer, alias: str) -> str:
    resp = server.request("GET", f"{CLIENT}/directory/room/{quote(alias, safe='')}")
    assert resp.code == 200, resp.json
    return str(resp.json["room_id"])


def visibility(server: TestServer, room_id: str) -> str:
    return str(
        server.request("GET", f"{CLIENT}/directory/list/room/{room_id}").json[
            "visibility"
        ]
    )


def state_event_id(server: TestServer, room_id: str, event_type: str) -> str:
    """The ID of the room's current ``event_type`` state event (key "")."""
    state = server.get_success(server.hs.core.room_state.get_current_state_ids(room_id))
    return str(state[(event_type, "")])


def assert_error(resp: FakeResponse, code: int, errcode: str) -> None:
    assert resp.code == code, resp.json
    assert resp.json["errcode"] == errcode, resp.json


def build_room(server: TestServer, users: Users, version: str) -> str:
    """A published room with copied state, aliases, a moderator, a member and a ban."""
    alice = users["alice"]
    bob = users["bob"]
    carol = users["carol"].user_id
    room_id = alice.create_room(
        room_version=version,
        visibility="public",
        preset="public_chat",
        name="Old room",
        topic="Old topic",
        room_alias_name="main",
    )
    for event_type, content in COPIED.items():
        if event_type not in ("m.room.join_rules", "m.room.name"):
            assert alice.put_state(room_id, event_type, content).code == 200
    resp = alice.put(
        f"{CLIENT}/directory/room/{quote('#alt:test', safe='')}", {"room_id": room_id}
    )
    assert resp.code == 200, resp.json
    canonical = {
        "alias": "#main:test",
        "alt_aliases": ["#alt:test", "#far:elsewhere.org"],
    }
    assert alice.put_state(room_id, "m.room.canonical_alias", canonical).code == 200
    for name in ("bob", "carol", "dave"):
        assert users[name].membership(room_id, "join").code == 200
    levels = current_state(server, room_id)[("m.room.power_levels", "")]
    levels["users"][bob.user_id] = 50
    assert alice.put_state(room_id, "m.room.power_levels", levels).code == 200
    assert bob.membership(room_id, "ban", user_id=carol, reason="spam").code == 200
    assert alice.user_id
    return room_id


UPGRADES = [
    ("9", "10"),
    ("10", "11"),
    ("11", "12"),
    ("12", "12"),
    ("1", "10"),
    ("12", "11"),
]


@pytest.mark.parametrize(("old_version", "new_version"), UPGRADES)
def test_upgrade(
    server: TestServer, users: Users, old_version: str, new_version: str
) -> None:
    alice = users["alice"]
    bob, carol, dave = (
        users["bob"].user_id,
        users["carol"].user_id,
        users["dave"].user_id,
    )
    old = build_room(server, users, old_version)
    old_state = current_state(server, old)
    old_levels = old_state[("m.room.power_levels", "")]
    tips = server.get_success(server.hs.core.events.get_forward_extremities(old))

    resp = upgrade(server, alice.token, old, {"new_version": new_version})
    assert resp.code == 200, resp.json
    new = resp.json["replacement_room"]
    assert new != old
    if new_version == "12":
        assert ":" not in new  # the create event's hash

    # The old room: tombstone, restricted power levels, remote aliases only.
    state = current_state(server, old)
    assert state[("m.room.tombstone", "")] == {
        "body": "This room has been replaced",
        "replacement_room": new,
    }
    restricted = state[("m.room.power_levels", "")]
    assert restricted["events_default"] == 50 and restricted["invite"] == 50
    assert {
        k: v for k, v in restricted.items() if k not in ("events_default", "invite")
    } == {k: v for k, v in old_levels.items() if k not in ("events_default", "invite")}
    assert state[("m.room.canonical_alias", "")] == {
        "alt_aliases": ["#far:elsewhere.org"]
    }
    assert visibility(server, old) == "private"

    # The new room: create event, copied state, power levels, aliases, bans.
    new_state = current_state(server, new)
    create = new_state[("m.room.create", "")]
    assert create["room_version"] == new_version
    if new_version == "12":
        # The new room's ID is its create event's hash: the tombstone (which
        # names it) cannot be known before, so the old room's last event.
        assert create["predecessor"] == {"room_id": old, "event_id": tips[0]}
    else:
        # As Synapse: the predecessor is the old room's tombstone.
        tombstone_id = state_event_id(server, old, "m.room.tombstone")
        assert create["predecessor"] == {"room_id": old, "event_id": tombstone_id}
    assert ("creator" in create) == (int(new_version) < 11)
    for event_type, content in COPIED.items():
        assert new_state[(event_type, "")] == content, event_type
    assert new_state[("m.room.topic", "")]["topic"] == "Old topic"
    levels = new_state[("m.room.power_levels", "")]
    expected_users = dict(old_levels["users"])
    if new_version == "12":
        expected_users.pop(alice.user_id, None)
    elif old_version == "12":
        expected_users[alice.user_id] = 100
    assert levels == {**old_levels, "users": expected_users}
    assert new_state[("m.room.canonical_alias", "")] == {
        "alias": "#main:test",
        "alt_aliases": ["#alt:test"],
    }
    assert alias_target(server, "#main:test") == new
    assert alias_target(server, "#alt:test") == new
    assert visibility(server, new) == "public"
    assert new_state[("m.room.member", carol)] == {
        "membership": "ban",
        "reason": "spam",
    }
    assert member_of(server, new, alice.user_id) == "join"
    assert member_of(server, new, bob) is None  # nobody is moved or invited
    assert member_of(server, new, dave) is None

    # Ordinary members can no longer talk or invite in the old room.
    assert (
        users["dave"].send_event(old, {"msgtype": "m.text", "body": "hi"}).code == 403
    )
    resp = users["dave"].membership(old, "invite", user_id="@someone:test")
    assert resp.code == 403
    # Alice still can, and members can follow her to the new room.
    assert alice.send_event(new, {"msgtype": "m.text", "body": "hi"}).code == 200
    assert users["dave"].membership(new, "join").code == 200
    assert (
        users["dave"].send_event(new, {"msgtype": "m.text", "body": "hi"}).code == 200
    )


def test_string_power_levels_become_integers(server: TestServer, users: Users) -> None:
    alice = users["alice"]
    bob = users["bob"].user_id
    room_id = alice.create_room(
        room_version="9",
        power_level_content_override={
            "users": {alice.user_id: 100, bob: "50"},
            "state_default": "50",
            "kick": " 40 ",
            "events": {"m.room.name": "60"},
        },
    )
    resp = upgrade(server, alice.token, room_id, {"new_version": "10"})
    assert resp.code == 200, resp.json
    levels = current_state(server, resp.json["replacement_room"])[
        ("m.room.power_levels", "")
    ]
    assert levels["users"] == {alice.user_id: 100, bob: 50}
    assert levels["state_default"] == 50 and levels["kick"] == 40
    assert levels["events"]["m.room.name"] == 60


def test_upgrader_below_needed_level_is_restored(
    server: TestServer, users: Users
) -> None:
    """A user allowed to send tombstones but not all state still copies everything."""
    alice = users["alice"]
    bob = users["bob"]
    room_id = alice.create_room(
        preset="public_chat",
        power_level_content_override={
            "users": {alice.user_id: 100, bob.user_id: 60},
            "events": {
                "m.room.tombstone": 60,
                "m.room.encryption": 100,
                "m.room.power_levels": 100,
            },
        },
    )
    encryption = {"algorithm": "m.megolm.v1.aes-sha2"}
    assert alice.put_state(room_id, "m.room.encryption", encryption).code == 200
    assert bob.membership(room_id, "join").code == 200
    resp = upgrade(server, bob.token, room_id, {"new_version": "11"})
    assert resp.code == 200, resp.json
    new = resp.json["replacement_room"]
    # Bob was raised to 100 while copying, then put back to 60.
    state = current_state(server, new)
    assert state[("m.room.encryption", "")] == encryption
    assert state[("m.room.power_levels", "")]["users"] == {
        alice.user_id: 100,
        bob.user_id: 60,
    }


def test_additional_creators(server: TestServer, users: Users) -> None:
    alice = users["alice"]
    bob = users["bob"]
    room_id = alice.create_room(room_version="11", preset="public_chat")
    bob.membership(room_id, "join")
    body = {
        "new_version": "12",
        "additional_creators": [bob.user_id, alice.user_id, bob.user_id],
    }
    resp = upgrade(server, alice.token, room_id, body)
    assert resp.code == 200, resp.json
    state = current_state(server, resp.json["replacement_room"])
    assert state[("m.room.create", "")]["additional_creators"] == [bob.user_id]
    assert state[("m.room.power_levels", "")]["users"] == {}
    # Ignored for versions without additional creators.
    other = alice.create_room(room_version="10")
    resp = upgrade(
        server,
        alice.token,
        other,
        {"new_version": "11", "additional_creators": [bob.user_id]},
    )
    assert resp.code == 200, resp.json
    state = current_state(server, resp.json["replacement_room"])
    assert "additional_creators" not in state[("m.room.create", "")]


def test_space_children_and_type(server: TestServer, users: Users) -> None:
    alice = users["alice"]
    space = alice.create_room(creation_content={"type": "m.space"})
    alice.put_state(space, "m.space.child", {"via": ["test"]}, state_key="!a:test")
    alice.put_state(space, "m.space.child", {}, state_key="!gone:test")
    alice.put_state(space, "org.example.custom", {"x": 1})
    resp = upgrade(server, alice.token, space, {"new_version": "11"})
    assert resp.code == 200, resp.json
    state = current_state(server, resp.json["replacement_room"])
    assert state[("m.room.create", "")]["type"] == "m.space"
    assert state[("m.space.child", "!a:test")] == {"via": ["test"]}
    assert ("m.space.child", "!gone:test") not in state
    assert ("org.example.custom", "") not in state  # only the spec's list moves


def test_unpublished_room_stays_unpublished(server: TestServer, users: Users) -> None:
    alice = users["alice"]
    room_id = alice.create_room()
    resp = upgrade(server, alice.token, room_id, {"new_version": "11"})
    assert resp.code == 200, resp.json
    assert visibility(server, resp.json["replacement_room"]) == "private"
    assert visibility(server, room_id) == "private"
    assert ("m.room.canonical_alias", "") not in current_state(server, room_id)


def test_upgrade_errors(server: TestServer, users: Users) -> None:
    alice = users["alice"]
    bob = users["bob"]
    room_id = alice.create_room(preset="public_chat")
    assert_error(
        upgrade(server, alice.token, room_id, {"new_version": "99"}),
        400,
        "M_UNSUPPORTED_ROOM_VERSION",
    )
    assert_error(upgrade(server, alice.token, room_id, {}), 400, "M_MISSING_PARAM")
    assert_error(
        upgrade(server, alice.token, room_id, {"new_version": 11}), 400, "M_BAD_JSON"
    )
    body = {"new_version": "12", "additional_creators": "bob"}
    assert_error(upgrade(server, alice.token, room_id, body), 400, "M_BAD_JSON")
    body = {"new_version": "12", "additional_creators": ["not a user"]}
    assert_error(upgrade(server, alice.token, room_id, body), 400, "M_INVALID_PARAM")
    assert_error(
        upgrade(server, alice.token, "!nope:test", {"new_version": "11"}),
        404,
        "M_NOT_FOUND",
    )
    assert_error(
        upgrade(server, None, room_id, {"new_version": "11"}), 401, "M_MISSING_TOKEN"
    )
    # Not in the room, then in it without the power to send m.room.tombstone (100).
    assert_error(
        upgrade(server, bob.token, room_id, {"new_version": "11"}), 403, "M_FORBIDDEN"
    )
    bob.membership(room_id, "join")
    assert_error(
        upgrade(server, bob.token, room_id, {"new_version": "11"}), 403, "M_FORBIDDEN"
    )
    assert bob.user_id
    # Nothing was created or changed by the refusals.
    assert ("m.room.tombstone", "") not in current_state(server, room_id)


def test_upgrade_twice(server: TestServer, users: Users) -> None:
    alice = users["alice"]
    first = alice.create_room(room_version="10", room_alias_name="chain")
    second = upgrade(server, alice.token, first, {"new_version": "11"}).json[
        "replacement_room"
    ]
    third = upgrade(server, alice.token, second, {"new_version": "12"}).json[
        "replacement_room"
    ]
    assert alias_target(server, "#chain:test") == third
    create = current_state(server, third)[("m.room.create", "")]
    assert create["predecessor"]["room_id"] == second
