"""Account data (global and per room) and room tags: HTTP, stream, sync API.

Spec: client-server API, "Client Config" and "Room Tagging".
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.harness import TestServer
from tests.rooms.helpers import create_room
from tests.sync_data.helpers import (
    assert_error,
    delete,
    finish,
    get,
    put,
    q,
    token,
    wait,
)

Users = dict[str, tuple[str, str]]


@pytest.fixture
def users(server: TestServer) -> Users:
    return {name: server.register(name) for name in ("alice", "bob")}


def gpath(user_id: str, data_type: str) -> str:
    return f"/user/{q(user_id)}/account_data/{q(data_type)}"


def rpath(user_id: str, room_id: str, data_type: str) -> str:
    return f"/user/{q(user_id)}/rooms/{q(room_id)}/account_data/{q(data_type)}"


def tpath(user_id: str, room_id: str, tag: str | None = None) -> str:
    base = f"/user/{q(user_id)}/rooms/{q(room_id)}/tags"
    return base if tag is None else f"{base}/{q(tag)}"


def sync_global(server: TestServer, user_id: str, since: int | None, upto: int) -> Any:
    return server.get_success(
        server.hs.sync_data.account_data.get_global_account_data(user_id, since, upto)
    )


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
    alice, tok = users["alice"]
    assert put(server, gpath(alice, "org.example.cfg"), {"a": 1}, tok).code == 200
    resp = get(server, gpath(alice, "org.example.cfg"), tok)
    assert resp.code == 200 and resp.json == {"a": 1}
    assert put(server, gpath(alice, "org.example.cfg"), {"b": [2]}, tok).code == 200
    assert get(server, gpath(alice, "org.example.cfg"), tok).json == {"b": [2]}


def test_missing_global_type_is_404(server: TestServer, users: Users) -> None:
    alice, tok = users["alice"]
    assert_error(get(server, gpath(alice, "org.nope"), tok), 404, "M_NOT_FOUND")


def test_other_users_account_data_is_403(server: TestServer, users: Users) -> None:
    alice, a_tok = users["alice"]
    bob, b_tok = users["bob"]
    put(server, gpath(alice, "org.example.cfg"), {"a": 1}, a_tok)
    assert_error(
        get(server, gpath(alice, "org.example.cfg"), b_tok), 403, "M_FORBIDDEN"
    )
    resp = put(server, gpath(alice, "org.example.cfg"), {"x": 1}, b_tok)
    assert_error(resp, 403, "M_FORBIDDEN")
    assert get(server, gpath(alice, "org.example.cfg"), a_tok).json == {"a": 1}


@pytest.mark.parametrize("data_type", ["m.fully_read", "m.push_rules"])
def test_server_managed_types_are_405(
    server: TestServer, users: Users, data_type: str
) -> None:
    alice, tok = users["alice"]
    room_id = create_room(server, tok)
    resp = put(server, gpath(alice, data_type), {"event_id": "$x"}, tok)
    assert_error(resp, 405, "M_BAD_JSON")
    resp = put(server, rpath(alice, room_id, data_type), {"event_id": "$x"}, tok)
    assert_error(resp, 405, "M_BAD_JSON")


def test_bodies_must_be_json_objects(server: TestServer, users: Users) -> None:
    alice, tok = users["alice"]
    assert_error(put(server, gpath(alice, "org.t"), [1], tok), 400, "M_BAD_JSON")
    resp = put(server, gpath(alice, "org.t"), b"{nope", tok)
    assert_error(resp, 400, "M_NOT_JSON")


def test_needs_a_token(server: TestServer, users: Users) -> None:
    alice, _ = users["alice"]
    resp = server.request("GET", "/_matrix/client/v3" + gpath(alice, "org.t"))
    assert_error(resp, 401, "M_MISSING_TOKEN")


def test_type_too_long_is_400(server: TestServer, users: Users) -> None:
    alice, tok = users["alice"]
    resp = put(server, gpath(alice, "x" * 256), {}, tok)
    assert_error(resp, 400, "M_INVALID_PARAM")


# -- room account data -------------------------------------------------------


def test_room_account_data_is_per_room(server: TestServer, users: Users) -> None:
    alice, tok = users["alice"]
    room1, room2 = create_room(server, tok), create_room(server, tok)
    assert put(server, rpath(alice, room1, "org.c"), {"r": 1}, tok).code == 200
    assert get(server, rpath(alice, room1, "org.c"), tok).json == {"r": 1}
    # No fallback to another room or to global data of the same type.
    assert_error(get(server, rpath(alice, room2, "org.c"), tok), 404, "M_NOT_FOUND")
    assert_error(get(server, gpath(alice, "org.c"), tok), 404, "M_NOT_FOUND")
    put(server, gpath(alice, "org.g"), {"g": 1}, tok)
    assert_error(get(server, rpath(alice, room1, "org.g"), tok), 404, "M_NOT_FOUND")


def test_room_account_data_errors(server: TestServer, users: Users) -> None:
    alice, a_tok = users["alice"]
    bob, b_tok = users["bob"]
    room_id = create_room(server, a_tok)
    resp = put(server, rpath(alice, "@not-a-room:test", "org.c"), {}, a_tok)
    assert_error(resp, 400, "M_INVALID_PARAM")
    resp = get(server, rpath(alice, "@not-a-room:test", "org.c"), a_tok)
    assert_error(resp, 400, "M_INVALID_PARAM")
    resp = put(server, rpath(alice, room_id, "org.c"), {"a": 1}, b_tok)
    assert_error(resp, 403, "M_FORBIDDEN")
    put(server, rpath(alice, room_id, "org.c"), {"a": 1}, a_tok)
    resp = get(server, rpath(alice, room_id, "org.c"), b_tok)
    assert_error(resp, 403, "M_FORBIDDEN")


# -- tags ----------------------------------------------------------------------


def test_add_list_and_remove_tags(server: TestServer, users: Users) -> None:
    alice, tok = users["alice"]
    room_id = create_room(server, tok)
    assert get(server, tpath(alice, room_id), tok).json == {"tags": {}}
    assert (
        put(server, tpath(alice, room_id, "m.favourite"), {"order": 0.1}, tok).code
        == 200
    )
    assert put(server, tpath(alice, room_id, "u.Work"), {"order": 1}, tok).code == 200
    assert put(server, tpath(alice, room_id, "u.Customers"), {}, tok).code == 200
    assert get(server, tpath(alice, room_id), tok).json == {
        "tags": {
            "m.favourite": {"order": 0.1},
            "u.Work": {"order": 1},
            "u.Customers": {},
        }
    }
    # Tags are the m.tag room account data.
    resp = get(server, rpath(alice, room_id, "m.tag"), tok)
    assert resp.json["tags"]["m.favourite"] == {"order": 0.1}
    assert delete(server, tpath(alice, room_id, "u.Work"), tok).code == 200
    assert set(get(server, tpath(alice, room_id), tok).json["tags"]) == {
        "m.favourite",
        "u.Customers",
    }
    # Removing a tag the room does not have is fine.
    assert delete(server, tpath(alice, room_id, "u.Work"), tok).code == 200


def test_replacing_a_tag_and_no_body(server: TestServer, users: Users) -> None:
    alice, tok = users["alice"]
    room_id = create_room(server, tok)
    put(server, tpath(alice, room_id, "u.x"), {"order": 0.5}, tok)
    put(server, tpath(alice, room_id, "u.x"), {"order": 0.25}, tok)
    resp = server.request(
        "PUT", "/_matrix/client/v3" + tpath(alice, room_id, "u.y"), token=tok
    )
    assert resp.code == 200, resp.json
    tags = get(server, tpath(alice, room_id), tok).json["tags"]
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
    alice, tok = users["alice"]
    room_id = create_room(server, tok)
    resp = put(server, tpath(alice, room_id, "u.x"), {"order": order}, tok)
    assert_error(resp, 400, errcode)
    assert get(server, tpath(alice, room_id), tok).json == {"tags": {}}


def test_tag_errors(server: TestServer, users: Users) -> None:
    alice, a_tok = users["alice"]
    bob, b_tok = users["bob"]
    room_id = create_room(server, a_tok)
    resp = put(server, tpath(alice, room_id, "u." + "x" * 254), {}, a_tok)
    assert_error(resp, 400, "M_INVALID_PARAM")
    assert_error(
        put(server, tpath(alice, room_id, "u.x"), {}, b_tok), 403, "M_FORBIDDEN"
    )
    assert_error(get(server, tpath(alice, room_id), b_tok), 403, "M_FORBIDDEN")
    assert_error(
        delete(server, tpath(alice, room_id, "u.x"), b_tok), 403, "M_FORBIDDEN"
    )
    resp = get(server, tpath(alice, "not-a-room", None), a_tok)
    assert_error(resp, 400, "M_INVALID_PARAM")


def test_tags_survive_a_client_set_m_tag_of_the_wrong_shape(
    server: TestServer, users: Users
) -> None:
    alice, tok = users["alice"]
    room_id = create_room(server, tok)
    put(server, rpath(alice, room_id, "m.tag"), {"tags": "oops", "x": 1}, tok)
    assert get(server, tpath(alice, room_id), tok).json == {"tags": {}}
    put(server, tpath(alice, room_id, "u.a"), {}, tok)
    content = get(server, rpath(alice, room_id, "m.tag"), tok).json
    assert content == {"tags": {"u.a": {}}, "x": 1}


# -- the stream and the sync API ------------------------------------------------


def test_positions_increase_and_sync_sees_exactly_the_changes(
    server: TestServer, users: Users
) -> None:
    alice, tok = users["alice"]
    bob, b_tok = users["bob"]
    room1, room2 = create_room(server, tok), create_room(server, tok)
    p0 = token(server).get("account_data")
    put(server, gpath(alice, "org.keep"), {"k": 1}, tok)
    put(server, gpath(alice, "org.a"), {"v": 1}, tok)
    p1 = token(server).get("account_data")
    put(server, rpath(alice, room1, "org.r"), {"v": 1}, tok)
    put(server, tpath(alice, room2, "m.favourite"), {}, tok)
    p2 = token(server).get("account_data")
    put(server, gpath(alice, "org.a"), {"v": 2}, tok)
    put(server, gpath(alice, "org.b"), {"v": 1}, tok)
    put(server, gpath(bob, "org.bob"), {"v": 1}, b_tok)
    p3 = token(server).get("account_data")
    assert p0 < p1 < p2 < p3

    # Initial sync: everything up to the position asked for. org.a was
    # rewritten after p1, so it comes with the changes after p1 instead.
    assert sync_global(server, alice, None, p1) == [
        {"type": "org.keep", "content": {"k": 1}}
    ]
    assert sync_global(server, alice, None, p3) == [
        {"type": "org.keep", "content": {"k": 1}},
        {"type": "org.a", "content": {"v": 2}},
        {"type": "org.b", "content": {"v": 1}},
    ]
    # Incremental: only what changed in (since, upto].
    assert sync_global(server, alice, p1, p2) == []
    assert sync_global(server, alice, p2, p3) == [
        {"type": "org.a", "content": {"v": 2}},
        {"type": "org.b", "content": {"v": 1}},
    ]
    assert sync_global(server, alice, p3, p3) == []

    assert sync_rooms(server, alice, None, None, p3) == {
        room1: [{"type": "org.r", "content": {"v": 1}}],
        room2: [{"type": "m.tag", "content": {"tags": {"m.favourite": {}}}}],
    }
    assert sync_rooms(server, alice, [room2], p1, p2) == {
        room2: [{"type": "m.tag", "content": {"tags": {"m.favourite": {}}}}],
    }
    assert sync_rooms(server, alice, [room1, room2], p2, p3) == {}
    assert sync_rooms(server, alice, [], None, p3) == {}
    assert sync_rooms(server, bob, None, None, p3) == {}


def test_removing_a_missing_tag_changes_nothing(
    server: TestServer, users: Users
) -> None:
    alice, tok = users["alice"]
    room_id = create_room(server, tok)
    before = token(server).get("account_data")
    waiting = wait(server, alice, [room_id])
    assert delete(server, tpath(alice, room_id, "u.none"), tok).code == 200
    assert (
        sync_rooms(server, alice, None, before, token(server).get("account_data")) == {}
    )
    finish(server, waiting)


def test_a_write_wakes_only_its_user(server: TestServer, users: Users) -> None:
    alice, a_tok = users["alice"]
    bob, b_tok = users["bob"]
    room_id = create_room(server, a_tok)
    alice_wait = wait(server, alice, [room_id])
    bob_wait = wait(server, bob)
    put(server, gpath(bob, "org.b"), {}, b_tok)
    assert bob_wait.called and not alice_wait.called
    put(server, tpath(alice, room_id, "u.t"), {}, a_tok)
    assert alice_wait.called

    alice_wait = wait(server, alice)
    put(server, rpath(alice, room_id, "org.r"), {}, a_tok)
    assert alice_wait.called
    finish(server, wait(server, bob))
