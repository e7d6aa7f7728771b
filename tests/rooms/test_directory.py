"""Room aliases, m.room.canonical_alias validation, and directory visibility."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest

from tests.harness import FakeResponse, TestServer
from tests.rooms.helpers import (
    CLIENT,
    create_room,
    current_state,
    membership,
    put_state,
)

Users = dict[str, tuple[str, str]]


@pytest.fixture
def users(server: TestServer) -> Users:
    out = {name: server.register(name) for name in ("alice", "bob", "carol")}
    out["admin"] = server.register("admin", admin=True)
    return out


def alias_url(alias: str) -> str:
    return f"{CLIENT}/directory/room/{quote(alias, safe='')}"


def put_alias(
    server: TestServer, token: str | None, alias: str, room_id: Any
) -> FakeResponse:
    return server.request("PUT", alias_url(alias), {"room_id": room_id}, token=token)


def get_alias(server: TestServer, alias: str) -> FakeResponse:
    return server.request("GET", alias_url(alias))


def delete_alias(server: TestServer, token: str, alias: str) -> FakeResponse:
    return server.request("DELETE", alias_url(alias), token=token)


def assert_error(resp: FakeResponse, code: int, errcode: str) -> None:
    assert resp.code == code, resp.json
    assert resp.json["errcode"] == errcode, resp.json


# -- PUT / GET /directory/room/{roomAlias} ----------------------------------


def test_create_and_resolve_alias(server: TestServer, users: Users) -> None:
    alice, token = users["alice"]
    room_id = create_room(server, token)
    resp = put_alias(server, token, "#team:test", room_id)
    assert resp.code == 200, resp.json
    assert resp.json == {}
    # GET needs no access token.
    resp = get_alias(server, "#team:test")
    assert resp.code == 200, resp.json
    assert resp.json == {"room_id": room_id, "servers": ["test"]}


def test_alias_taken(server: TestServer, users: Users) -> None:
    token = users["alice"][1]
    room_id = create_room(server, token)
    other = create_room(server, token)
    assert put_alias(server, token, "#team:test", room_id).code == 200
    assert_error(put_alias(server, token, "#team:test", other), 409, "M_UNKNOWN")
    assert get_alias(server, "#team:test").json["room_id"] == room_id


@pytest.mark.parametrize(
    "alias",
    [
        "#team:elsewhere.org",
        "team:test",
        "#team",
        "#:test",
        "#a b:test",
        "#a:bad_name!",
        "#" + "x" * 260 + ":test",
    ],
)
def test_bad_or_foreign_alias(server: TestServer, users: Users, alias: str) -> None:
    token = users["alice"][1]
    room_id = create_room(server, token)
    assert_error(put_alias(server, token, alias, room_id), 400, "M_INVALID_PARAM")


def test_put_alias_errors(server: TestServer, users: Users) -> None:
    token = users["alice"][1]
    room_id = create_room(server, token)
    assert_error(put_alias(server, None, "#a:test", room_id), 401, "M_MISSING_TOKEN")
    assert_error(put_alias(server, token, "#a:test", "!nope:test"), 404, "M_NOT_FOUND")
    resp = server.request("PUT", alias_url("#a:test"), {}, token=token)
    assert_error(resp, 400, "M_MISSING_PARAM")
    assert_error(put_alias(server, token, "#a:test", 42), 400, "M_BAD_JSON")
    resp = server.request("PUT", alias_url("#a:test"), b"nope", token=token)
    assert_error(resp, 400, "M_NOT_JSON")


def test_alias_needs_membership_unless_admin(server: TestServer, users: Users) -> None:
    alice_token = users["alice"][1]
    room_id = create_room(server, alice_token, preset="public_chat")
    resp = put_alias(server, users["bob"][1], "#bob:test", room_id)
    assert_error(resp, 403, "M_FORBIDDEN")
    assert put_alias(server, users["admin"][1], "#admin:test", room_id).code == 200
    # Once joined, any member may add one (Synapse's default).
    assert membership(server, users["bob"][1], room_id, "join").code == 200
    assert put_alias(server, users["bob"][1], "#bob:test", room_id).code == 200


def test_alias_membership_requirement_can_be_lifted(
    make_server: Callable[..., TestServer],
) -> None:
    server = make_server({"room_directory": {"require_membership_for_aliases": False}})
    _, alice_token = server.register("alice")
    _, bob_token = server.register("bob")
    room_id = create_room(server, alice_token)
    assert put_alias(server, bob_token, "#bob:test", room_id).code == 200


def test_get_alias_errors(server: TestServer, users: Users) -> None:
    assert_error(get_alias(server, "#missing:test"), 404, "M_NOT_FOUND")
    assert_error(get_alias(server, "not-an-alias"), 400, "M_INVALID_PARAM")
    # Another server's alias would need federation.
    assert_error(get_alias(server, "#room:elsewhere.org"), 502, "M_UNKNOWN")


def test_get_alias_lists_servers_of_joined_members(
    server: TestServer, users: Users
) -> None:
    token = users["alice"][1]
    room_id = create_room(server, token, room_alias_name="lobby")
    resp = get_alias(server, "#lobby:test")
    assert resp.json == {"room_id": room_id, "servers": ["test"]}


def test_join_by_alias(server: TestServer, users: Users) -> None:
    room_id = create_room(server, users["alice"][1], preset="public_chat")
    assert put_alias(server, users["alice"][1], "#open:test", room_id).code == 200
    resp = server.request(
        "POST",
        f"{CLIENT}/join/{quote('#open:test', safe='')}",
        {},
        token=users["bob"][1],
    )
    assert resp.code == 200, resp.json
    assert resp.json == {"room_id": room_id}


# -- DELETE /directory/room/{roomAlias} --------------------------------------


def test_delete_alias_by_creator(server: TestServer, users: Users) -> None:
    alice_token = users["alice"][1]
    bob_token = users["bob"][1]
    room_id = create_room(server, alice_token, preset="public_chat")
    membership(server, bob_token, room_id, "join")
    assert put_alias(server, bob_token, "#bobs:test", room_id).code == 200
    # Bob (power 0) made it, so he may remove it.
    assert delete_alias(server, bob_token, "#bobs:test").code == 200
    assert_error(get_alias(server, "#bobs:test"), 404, "M_NOT_FOUND")
    assert_error(delete_alias(server, bob_token, "#bobs:test"), 404, "M_NOT_FOUND")


def test_delete_alias_permissions(server: TestServer, users: Users) -> None:
    alice, alice_token = users["alice"]
    bob, bob_token = users["bob"]
    carol_token = users["carol"][1]
    room_id = create_room(server, alice_token, preset="public_chat")
    membership(server, bob_token, room_id, "join")
    membership(server, carol_token, room_id, "join")
    for name in ("one", "two", "three"):
        assert put_alias(server, alice_token, f"#{name}:test", room_id).code == 200
    # Carol is joined but lacks the power to send m.room.canonical_alias (50).
    assert_error(delete_alias(server, carol_token, "#one:test"), 403, "M_FORBIDDEN")
    # Outsiders cannot either.
    outsider_token = server.register("dave")[1]
    assert_error(delete_alias(server, outsider_token, "#one:test"), 403, "M_FORBIDDEN")
    # A moderator can.
    levels = current_state(server, room_id)[("m.room.power_levels", "")]
    levels["users"][bob] = 50
    assert (
        put_state(server, alice_token, room_id, "m.room.power_levels", levels).code
        == 200
    )
    assert delete_alias(server, bob_token, "#one:test").code == 200
    # A server admin can, without being in the room.
    assert delete_alias(server, users["admin"][1], "#two:test").code == 200
    assert_error(get_alias(server, "#two:test"), 404, "M_NOT_FOUND")
    assert get_alias(server, "#three:test").code == 200


def test_delete_alias_errors(server: TestServer, users: Users) -> None:
    token = users["alice"][1]
    assert_error(delete_alias(server, token, "#nothing:test"), 404, "M_NOT_FOUND")
    assert_error(
        delete_alias(server, token, "#x:elsewhere.org"), 400, "M_INVALID_PARAM"
    )
    assert_error(delete_alias(server, token, "bad"), 400, "M_INVALID_PARAM")
    resp = server.request("DELETE", alias_url("#nothing:test"))
    assert_error(resp, 401, "M_MISSING_TOKEN")


def test_delete_alias_updates_canonical_alias(server: TestServer, users: Users) -> None:
    token = users["alice"][1]
    room_id = create_room(server, token, room_alias_name="main")
    assert put_alias(server, token, "#alt:test", room_id).code == 200
    content = {"alias": "#main:test", "alt_aliases": ["#alt:test", "#main:test"]}
    assert (
        put_state(server, token, room_id, "m.room.canonical_alias", content).code == 200
    )
    assert delete_alias(server, token, "#main:test").code == 200
    state = current_state(server, room_id)
    assert state[("m.room.canonical_alias", "")] == {"alt_aliases": ["#alt:test"]}
    assert delete_alias(server, token, "#alt:test").code == 200
    assert current_state(server, room_id)[("m.room.canonical_alias", "")] == {}


def test_admin_delete_outside_room_leaves_canonical_alias(
    server: TestServer, users: Users
) -> None:
    token = users["alice"][1]
    room_id = create_room(server, token, room_alias_name="main")
    assert delete_alias(server, users["admin"][1], "#main:test").code == 200
    # The admin may not send events there, so the alias is gone but the event stays.
    state = current_state(server, room_id)
    assert state[("m.room.canonical_alias", "")] == {"alias": "#main:test"}


# -- GET /rooms/{roomId}/aliases ---------------------------------------------


def test_room_aliases(server: TestServer, users: Users) -> None:
    alice_token = users["alice"][1]
    room_id = create_room(server, alice_token, room_alias_name="b")
    assert put_alias(server, alice_token, "#a:test", room_id).code == 200
    url = f"{CLIENT}/rooms/{room_id}/aliases"
    resp = server.request("GET", url, token=alice_token)
    assert resp.code == 200, resp.json
    assert resp.json == {"aliases": ["#a:test", "#b:test"]}
    assert_error(server.request("GET", url, token=users["bob"][1]), 403, "M_FORBIDDEN")
    assert server.request("GET", url, token=users["admin"][1]).json["aliases"] == [
        "#a:test",
        "#b:test",
    ]
    assert_error(server.request("GET", url), 401, "M_MISSING_TOKEN")
    unknown = f"{CLIENT}/rooms/!nope:test/aliases"
    assert_error(server.request("GET", unknown, token=alice_token), 403, "M_FORBIDDEN")


def test_room_aliases_world_readable(server: TestServer, users: Users) -> None:
    alice_token = users["alice"][1]
    room_id = create_room(server, alice_token, room_alias_name="open")
    put_state(
        server,
        alice_token,
        room_id,
        "m.room.history_visibility",
        {"history_visibility": "world_readable"},
    )
    resp = server.request(
        "GET", f"{CLIENT}/rooms/{room_id}/aliases", token=users["bob"][1]
    )
    assert resp.code == 200, resp.json
    assert resp.json == {"aliases": ["#open:test"]}


def test_room_aliases_after_leaving(server: TestServer, users: Users) -> None:
    alice_token = users["alice"][1]
    bob_token = users["bob"][1]
    room_id = create_room(server, alice_token, preset="public_chat")
    membership(server, bob_token, room_id, "join")
    url = f"{CLIENT}/rooms/{room_id}/aliases"
    assert server.request("GET", url, token=bob_token).code == 200
    membership(server, bob_token, room_id, "leave")
    assert_error(server.request("GET", url, token=bob_token), 403, "M_FORBIDDEN")


# -- m.room.canonical_alias validation ----------------------------------------


def set_canonical(
    server: TestServer, token: str, room_id: str, content: Any
) -> FakeResponse:
    return put_state(server, token, room_id, "m.room.canonical_alias", content)


def test_canonical_alias_must_point_to_the_room(
    server: TestServer, users: Users
) -> None:
    token = users["alice"][1]
    room_id = create_room(server, token)
    other = create_room(server, token, room_alias_name="other")
    assert put_alias(server, token, "#mine:test", room_id).code == 200
    assert_error(
        set_canonical(server, token, room_id, {"alias": "#missing:test"}),
        400,
        "M_BAD_ALIAS",
    )
    assert_error(
        set_canonical(server, token, room_id, {"alias": "#other:test"}),
        400,
        "M_BAD_ALIAS",
    )
    assert_error(
        set_canonical(
            server, token, room_id, {"alt_aliases": ["#mine:test", "#other:test"]}
        ),
        400,
        "M_BAD_ALIAS",
    )
    resp = set_canonical(
        server, token, room_id, {"alias": "#mine:test", "alt_aliases": []}
    )
    assert resp.code == 200, resp.json
    assert current_state(server, other)[("m.room.canonical_alias", "")] == {
        "alias": "#other:test"
    }


@pytest.mark.parametrize(
    "content",
    [
        {"alias": "not-an-alias"},
        {"alias": 42},
        {"alt_aliases": "#mine:test"},
        {"alt_aliases": [None]},
        {"alt_aliases": ["#bad"]},
    ],
)
def test_canonical_alias_syntax(server: TestServer, users: Users, content: Any) -> None:
    token = users["alice"][1]
    room_id = create_room(server, token)
    assert_error(set_canonical(server, token, room_id, content), 400, "M_INVALID_PARAM")


def test_canonical_alias_remote_and_empty(server: TestServer, users: Users) -> None:
    token = users["alice"][1]
    room_id = create_room(server, token)
    # Other servers' aliases cannot be resolved without federation: syntax only.
    content = {"alias": "#room:elsewhere.org", "alt_aliases": ["#x:other.example"]}
    assert set_canonical(server, token, room_id, content).code == 200
    assert set_canonical(server, token, room_id, {"alias": ""}).code == 200
    assert set_canonical(server, token, room_id, {}).code == 200


def test_canonical_alias_keeps_existing_entries(
    server: TestServer, users: Users
) -> None:
    token = users["alice"][1]
    room_id = create_room(server, token, room_alias_name="main")
    assert put_alias(server, token, "#alt:test", room_id).code == 200
    content = {"alias": "#main:test", "alt_aliases": ["#alt:test"]}
    assert set_canonical(server, token, room_id, content).code == 200
    # The alt alias is removed from the directory by an admin (who is not in the
    # room, so the event is not updated); aliases already present stay valid.
    assert delete_alias(server, users["admin"][1], "#alt:test").code == 200
    content = {"alias": "#main:test", "alt_aliases": ["#alt:test"], "note": "same"}
    assert set_canonical(server, token, room_id, content).code == 200


def test_canonical_alias_needs_power_first(server: TestServer, users: Users) -> None:
    alice_token = users["alice"][1]
    bob_token = users["bob"][1]
    room_id = create_room(server, alice_token, preset="public_chat")
    membership(server, bob_token, room_id, "join")
    # The auth rules refuse before the aliases are looked at.
    resp = set_canonical(server, bob_token, room_id, {"alias": "#missing:test"})
    assert_error(resp, 403, "M_FORBIDDEN")


# -- /directory/list/room/{roomId} ---------------------------------------------


def visibility_url(room_id: str) -> str:
    return f"{CLIENT}/directory/list/room/{room_id}"


def test_visibility_get_and_set(server: TestServer, users: Users) -> None:
    token = users["alice"][1]
    room_id = create_room(server, token)
    resp = server.request("GET", visibility_url(room_id))  # no token needed
    assert resp.code == 200, resp.json
    assert resp.json == {"visibility": "private"}
    resp = server.request(
        "PUT", visibility_url(room_id), {"visibility": "public"}, token=token
    )
    assert resp.code == 200, resp.json
    assert resp.json == {}
    assert server.request("GET", visibility_url(room_id)).json == {
        "visibility": "public"
    }
    resp = server.request(
        "PUT", visibility_url(room_id), {"visibility": "private"}, token=token
    )
    assert resp.code == 200
    assert server.request("GET", visibility_url(room_id)).json == {
        "visibility": "private"
    }
    # The spec's default for a body without visibility is public.
    assert server.request("PUT", visibility_url(room_id), {}, token=token).code == 200
    assert server.request("GET", visibility_url(room_id)).json == {
        "visibility": "public"
    }


def test_created_public_room_is_listed(server: TestServer, users: Users) -> None:
    room_id = create_room(server, users["alice"][1], visibility="public")
    assert server.request("GET", visibility_url(room_id)).json == {
        "visibility": "public"
    }


def test_visibility_errors(server: TestServer, users: Users) -> None:
    alice_token = users["alice"][1]
    bob_token = users["bob"][1]
    room_id = create_room(server, alice_token, preset="public_chat")
    assert_error(
        server.request("GET", visibility_url("!nope:test")), 404, "M_NOT_FOUND"
    )
    public = {"visibility": "public"}
    resp = server.request(
        "PUT", visibility_url("!nope:test"), public, token=alice_token
    )
    assert_error(resp, 404, "M_NOT_FOUND")
    resp = server.request(
        "PUT", visibility_url(room_id), {"visibility": "secret"}, token=alice_token
    )
    # A value outside the allowed set: M_INVALID_PARAM ("a parameter that was
    # specified has the wrong value"); a wrong type stays M_BAD_JSON.
    assert_error(resp, 400, "M_INVALID_PARAM")
    resp = server.request(
        "PUT", visibility_url(room_id), {"visibility": 5}, token=alice_token
    )
    assert_error(resp, 400, "M_BAD_JSON")
    assert_error(
        server.request("PUT", visibility_url(room_id), public), 401, "M_MISSING_TOKEN"
    )
    # Not in the room; then in the room without moderator power.
    resp = server.request("PUT", visibility_url(room_id), public, token=bob_token)
    assert_error(resp, 403, "M_FORBIDDEN")
    membership(server, bob_token, room_id, "join")
    resp = server.request("PUT", visibility_url(room_id), public, token=bob_token)
    assert_error(resp, 403, "M_FORBIDDEN")
    assert server.request("GET", visibility_url(room_id)).json == {
        "visibility": "private"
    }
    # Server admins may, from outside the room.
    resp = server.request(
        "PUT", visibility_url(room_id), public, token=users["admin"][1]
    )
    assert resp.code == 200, resp.json
    assert server.request("GET", visibility_url(room_id)).json == {
        "visibility": "public"
    }
