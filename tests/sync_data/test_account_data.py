"""Account data (global and per room) and room tags: HTTP, stream, sync API.

Spec: client-server API, "Client Config" and "Room Tagging".
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import User, q
from tests.support.server import TestServer
from tests.sync_data.helpers import assert_error, finish, token, wait

Users = dict[str, User]


@pytest.fixture
def users(server: TestServer) -> Users:
    return {name: server.user(name) for name in ("alice", "bob")}


def gpath(user_id: str, data_type: str) -> str:
    return f"/user/{q(user_id)}/account_data/{q(data_type)}"


def rpath(user_id: str, room_id: str, data_type: str) -> str:
    return f"/user/{q(user_id)}/rooms/{q(room_id)}/account_data/{q(data_type)}"


def tpath(user_id: str, room_id: str, tag: str | None = None) -> str:
    base = f"/user/{q(user_id)}/rooms/{q(room_id)}/tags"
    return base if tag is None else f"{base}/{q(tag)}"


def sync_global(server: TestServer, user_id: str, since: int | None, upto: int) -> Any:
    """The source's global events without ``m.push_rules`` (an initial sync
    always has it: tests/push/rules/test_account_data.py)."""
    events = server.get_success(
        server.hs.sync_data.account_data.get_global_account_data(user_id, since, upto)
    )
    return [e for e in events if e["type"] != "m.push_rules"]


def sync_rooms(
    server: TestServer, user_id: str, rooms: Any, since: int | None, upto: int
) -> Any:
    return server.get_success(
        server.hs.sync_data.account_data.get_room_account_data(
            user_id, rooms, since, upto
        )
    )


# -- global account data ---------------------------------------------------


def test_set_and_get_global(server: TestServer, users: Users) -> None:
    alice = users["alice"]
    assert alice.put(gpath(alice.user_id, "org.example.cfg"), {"a": 1}).code == 200
    resp = alice.get(gpath(alice.user_id, "org.example.cfg"))
    assert resp.code == 200 and resp.json == {"a": 1}
    assert alice.put(gpath(alice.user_id, "org.example.cfg"), {"b": [2]}).code == 200
    assert alice.get(gpath(alice.user_id, "org.example.cfg")).json == {"b": [2]}


def test_missing_global_type_is_404(server: TestServer, users: Users) -> None:
    alice = users["alice"]
    assert_error(alice.get(gpath(alice.user_id, "org.nope")), 404, "M_NOT_FOUND")


def test_other_users_account_data_is_403(server: TestServer, users: Users) -> None:
    alice = users["alice"]
    bob = users["bob"]
    alice.put(gpath(alice.user_id, "org.example.cfg"), {"a": 1})
    assert_error(bob.get(gpath(alice.user_id, "org.example.cfg")), 403, "M_FORBIDDEN")
    resp = bob.put(gpath(alice.user_id, "org.example.cfg"), {"x": 1})
    assert_error(resp, 403, "M_FORBIDDEN")
    assert alice.get(gpath(alice.user_id, "org.example.cfg")).json == {"a": 1}


@pytest.mark.parametrize("data_type", ["m.fully_read", "m.push_rules"])
def test_server_managed_types_are_405(
    server: TestServer, users: Users, data_type: str
) -> None:
    alice = users["alice"]
    room_id = alice.create_room()
    resp = alice.put(gpath(alice.user_id, data_type), {"event_id": "$x"})
    assert_error(resp, 405, "M_BAD_JSON")
    resp = alice.put(rpath(alice.user_id, room_id, data_type), {"event_id": "$x"})
    assert_error(resp, 405, "M_BAD_JSON")


def test_bodies_must_be_json_objects(server: TestServer, users: Users) -> None:
    alice = users["alice"]
    assert_error(alice.put(gpath(alice.user_id, "org.t"), [1]), 400, "M_BAD_JSON")
    resp = alice.put(gpath(alice.user_id, "org.t"), b"{nope")
    assert_error(resp, 400, "M_NOT_JSON")


def test_needs_a_token(server: TestServer, users: Users) -> None:
    alice = users["alice"]
    resp = server.request("GET", "/_matrix/client/v3" + gpath(alice.user_id, "org.t"))
    assert_error(resp, 401, "M_MISSING_TOKEN")


def test_type_too_long_is_400(server: TestServer, users: Users) -> None:
    alice = users["alice"]
    resp = alice.put(gpath(alice.user_id, "x" * 256), {})
    assert_error(resp, 400, "M_INVALID_PARAM")


# -- room account data -------------------------------------------------------


def test_room_account_data_is_per_room(server: TestServer, users: Users) -> None:
    alice = users["alice"]
    room1, room2 = alice.create_room(), alice.create_room()
    assert alice.put(rpath(alice.user_id, room1, "org.c"), {"r": 1}).code == 200
    assert alice.get(rpath(alice.user_id, room1, "org.c")).json == {"r": 1}
    # No fallback to another room or to global data of the same type.
    assert_error(alice.get(rpath(alice.user_id, room2, "org.c")), 404, "M_NOT_FOUND")
    assert_error(alice.get(gpath(alice.user_id, "org.c")), 404, "M_NOT_FOUND")
    alice.put(gpath(alice.user_id, "org.g"), {"g": 1})
    assert_error(alice.get(rpath(alice.user_id, room1, "org.g")), 404, "M_NOT_FOUND")


def test_room_account_data_errors(server: TestServer, users: Users) -> None:
    alice = users["alice"]
    bob = users["bob"]
    room_id = alice.create_room()
    resp = alice.put(rpath(alice.user_id, "@not-a-room:test", "org.c"), {})
    assert_error(resp, 400, "M_INVALID_PARAM")
    resp = alice.get(rpath(alice.user_id, "@not-a-room:test", "org.c"))
    assert_error(resp, 400, "M_INVALID_PARAM")
    resp = bob.put(rpath(alice.user_id, room_id, "org.c"), {"a": 1})
    assert_error(resp, 403, "M_FORBIDDEN")
    alice.put(rpath(alice.user_id, room_id, "org.c"), {"a": 1})
    resp = bob.get(rpath(alice.user_id, room_id, "org.c"))
    assert_error(resp, 403, "M_FORBIDDEN")


# -- tags ----------------------------------------------------------------------


def test_add_list_and_remove_tags(server: TestServer, users: Users) -> None:
    alice = users["alice"]
    room_id = alice.create_room()
    assert alice.get(tpath(alice.user_id, room_id)).json == {"tags": {}}
    assert (
        alice.put(tpath(alice.user_id, room_id, "m.favourite"), {"order": 0.1}).code
        == 200
    )
    assert alice.put(tpath(alice.user_id, room_id, "u.Work"), {"order": 1}).code == 200
    assert alice.put(tpath(alice.user_id, room_id, "u.Customers"), {}).code == 200
    assert alice.get(tpath(alice.user_id, room_id)).json == {
        "tags": {
            "m.favourite": {"order": 0.1},
            "u.Work": {"order": 1},
            "u.Customers": {},
        }
    }
    # Tags are the m.tag room account data.
    resp = alice.get(rpath(alice.user_id, room_id, "m.tag"))
    assert resp.json["tags"]["m.favourite"] == {"order": 0.1}
    assert alice.delete(tpath(alice.user_id, room_id, "u.Work")).code == 200
    assert set(alice.get(tpath(alice.user_id, room_id)).json["tags"]) == {
        "m.favourite",
        "u.Customers",
    }
    # Removing a tag the room does not have is fine.
    assert alice.delete(tpath(alice.user_id, room_id, "u.Work")).code == 200


def test_replacing_a_tag_and_no_body(server: TestServer, users: Users) -> None:
    alice = users["alice"]
    room_id = alice.create_room()
    alice.put(tpath(alice.user_id, room_id, "u.x"), {"order": 0.5})
    alice.put(tpath(alice.user_id, room_id, "u.x"), {"order": 0.25})
    resp = alice.put("/_matrix/client/v3" + tpath(alice.user_id, room_id, "u.y"))
    assert resp.code == 200, resp.json
    tags = alice.get(tpath(alice.user_id, room_id)).json["tags"]
    assert tags == {"u.x": {"order": 0.25}, "u.y": {}}


@pytest.mark.parametrize(
    ("order", "errcode"),
    [
        ("0.5", "M_BAD_JSON"),
        (True, "M_BAD_JSON"),
        (None, "M_BAD_JSON"),
        (-0.1, "M_INVALID_PARAM"),
        (1.5, "M_INVALID_PARAM"),
    ],
)
def test_tag_order_must_be_a_number_in_0_1(
    server: TestServer, users: Users, order: Any, errcode: str
) -> None:
    alice = users["alice"]
    room_id = alice.create_room()
    resp = alice.put(tpath(alice.user_id, room_id, "u.x"), {"order": order})
    assert_error(resp, 400, errcode)
    assert alice.get(tpath(alice.user_id, room_id)).json == {"tags": {}}


def test_tag_errors(server: TestServer, users: Users) -> None:
    alice = users["alice"]
    bob = users["bob"]
    room_id = alice.create_room()
    resp = alice.put(tpath(alice.user_id, room_id, "u." + "x" * 254), {})
    assert_error(resp, 400, "M_INVALID_PARAM")
    assert_error(bob.put(tpath(alice.user_id, room_id, "u.x"), {}), 403, "M_FORBIDDEN")
    assert_error(bob.get(tpath(alice.user_id, room_id)), 403, "M_FORBIDDEN")
    assert_error(bob.delete(tpath(alice.user_id, room_id, "u.x")), 403, "M_FORBIDDEN")
    resp = alice.get(tpath(alice.user_id, "not-a-room", None))
    assert_error(resp, 400, "M_INVALID_PARAM")


def test_tags_survive_a_client_set_m_tag_of_the_wrong_shape(
    server: TestServer, users: Users
) -> None:
    alice = users["alice"]
    room_id = alice.create_room()
    alice.put(rpath(alice.user_id, room_id, "m.tag"), {"tags": "oops", "x": 1})
    assert alice.get(tpath(alice.user_id, room_id)).json == {"tags": {}}
    alice.put(tpath(alice.user_id, room_id, "u.a"), {})
    content = alice.get(rpath(alice.user_id, room_id, "m.tag")).json
    assert content == {"tags": {"u.a": {}}, "x": 1}


# -- the stream and the sync API ------------------------------------------------


def test_positions_increase_and_sync_sees_exactly_the_changes(
    server: TestServer, users: Users
) -> None:
    alice = users["alice"]
    bob = users["bob"]
    room1, room2 = alice.create_room(), alice.create_room()
    p0 = token(server).get("account_data")
    alice.put(gpath(alice.user_id, "org.keep"), {"k": 1})
    alice.put(gpath(alice.user_id, "org.a"), {"v": 1})
    p1 = token(server).get("account_data")
    alice.put(rpath(alice.user_id, room1, "org.r"), {"v": 1})
    alice.put(tpath(alice.user_id, room2, "m.favourite"), {})
    p2 = token(server).get("account_data")
    alice.put(gpath(alice.user_id, "org.a"), {"v": 2})
    alice.put(gpath(alice.user_id, "org.b"), {"v": 1})
    bob.put(gpath(bob.user_id, "org.bob"), {"v": 1})
    p3 = token(server).get("account_data")
    assert p0 < p1 < p2 < p3

    # Initial sync: everything up to the position asked for. org.a was
    # rewritten after p1, so it comes with the changes after p1 instead.
    assert sync_global(server, alice.user_id, None, p1) == [
        {"type": "org.keep", "content": {"k": 1}}
    ]
    assert sync_global(server, alice.user_id, None, p3) == [
        {"type": "org.keep", "content": {"k": 1}},
        {"type": "org.a", "content": {"v": 2}},
        {"type": "org.b", "content": {"v": 1}},
    ]
    # Incremental: only what changed in (since, upto].
    assert sync_global(server, alice.user_id, p1, p2) == []
    assert sync_global(server, alice.user_id, p2, p3) == [
        {"type": "org.a", "content": {"v": 2}},
        {"type": "org.b", "content": {"v": 1}},
    ]
    assert sync_global(server, alice.user_id, p3, p3) == []

    assert sync_rooms(server, alice.user_id, None, None, p3) == {
        room1: [{"type": "org.r", "content": {"v": 1}}],
        room2: [{"type": "m.tag", "content": {"tags": {"m.favourite": {}}}}],
    }
    assert sync_rooms(server, alice.user_id, [room2], p1, p2) == {
        room2: [{"type": "m.tag", "content": {"tags": {"m.favourite": {}}}}],
    }
    assert sync_rooms(server, alice.user_id, [room1, room2], p2, p3) == {}
    assert sync_rooms(server, alice.user_id, [], None, p3) == {}
    assert sync_rooms(server, bob.user_id, None, None, p3) == {}


def test_removing_a_missing_tag_changes_nothing(
    server: TestServer, users: Users
) -> None:
    alice = users["alice"]
    room_id = alice.create_room()
    before = token(server).get("account_data")
    waiting = wait(server, alice.user_id, [room_id])
    assert alice.delete(tpath(alice.user_id, room_id, "u.none")).code == 200
    assert (
        sync_rooms(
            server, alice.user_id, None, before, token(server).get("account_data")
        )
        == {}
    )
    finish(server, waiting)


def test_a_write_wakes_only_its_user(server: TestServer, users: Users) -> None:
    alice = users["alice"]
    bob = users["bob"]
    room_id = alice.create_room()
    alice_wait = wait(server, alice.user_id, [room_id])
    bob_wait = wait(server, bob.user_id)
    bob.put(gpath(bob.user_id, "org.b"), {})
    assert bob_wait.called and not alice_wait.called
    alice.put(tpath(alice.user_id, room_id, "u.t"), {})
    assert alice_wait.called

    alice_wait = wait(server, alice.user_id)
    alice.put(rpath(alice.user_id, room_id, "org.r"), {})
    assert alice_wait.called
    finish(server, wait(server, bob.user_id))
