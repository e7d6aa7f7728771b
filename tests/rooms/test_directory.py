"""Room aliases, m.room.canonical_alias validation, and directory visibility."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest

from tests.rooms.helpers import current_state
from tests.support import CLIENT, User
from tests.support.server import FakeResponse, TestServer

Users = dict[str, User]


@pytest.fixture
def users(server: TestServer) -> Users:
    out = {name: server.user(name) for name in ("alice", "bob", "carol")}
    out["admin"] = server.user("admin", admin=True)
    return out


def alias_url(alias: str) -> str:
    return f"{CLIENT}/directory/room/{quote(alias, safe='')}"


def put_alias(
    server: TestServer, token: str | None, alias: str, room_id: Any
) -> FakeResponse:
    return server.request("PUT", alias_url(alias), {"room_id": room_id}, token=token)


def get_alias(server: TestServer, alias: str) -> FakeResponse:
    return server.request("GET", alias_url(alias))


def delete_alias(user: User, alias: str) -> FakeResponse:
    return user.delete(alias_url(alias))


def assert_error(resp: FakeResponse, code: int, errcode: str) -> None:
    assert resp.code == code, resp.json
    assert resp.json["errcode"] == errcode, resp.json


# -- PUT / GET /directory/room/{roomAlias} ----------------------------------


def test_create_and_resolve_alias(server: TestServer, users: Users) -> None:
    alice = users["alice"]
    room_id = alice.create_room()
    resp = put_alias(server, alice.token, "#team:test", room_id)
    assert resp.code == 200, resp.json
    assert resp.json == {}
    # GET needs no access token.
    resp = get_alias(server, "#team:test")
    assert resp.code == 200, resp.json
    assert resp.json == {"room_id": room_id, "servers": ["test"]}


def test_alias_taken(server: TestServer, users: Users) -> None:
    alice = users["alice"]
    room_id = alice.create_room()
    other = alice.create_room()
    assert put_alias(server, alice.token, "#team:test", room_id).code == 200
    assert_error(put_alias(server, alice.token, "#team:test", other), 409, "M_UNKNOWN")
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
    alice = users["alice"]
    room_id = alice.create_room()
    assert_error(put_alias(server, alice.token, alias, room_id), 400, "M_INVALID_PARAM")


def test_put_alias_errors(server: TestServer, users: Users) -> None:
    alice = users["alice"]
    room_id = alice.create_room()
    assert_error(put_alias(server, None, "#a:test", room_id), 401, "M_MISSING_TOKEN")
    assert_error(
        put_alias(server, alice.token, "#a:test", "!nope:test"), 404, "M_NOT_FOUND"
    )
    resp = alice.put(alias_url("#a:test"), {})
    assert_error(resp, 400, "M_MISSING_PARAM")
    assert_error(put_alias(server, alice.token, "#a:test", 42), 400, "M_BAD_JSON")
    resp = alice.put(alias_url("#a:test"), b"nope")
    assert_error(resp, 400, "M_NOT_JSON")


def test_alias_needs_membership_unless_admin(server: TestServer, users: Users) -> None:
    alice = users["alice"]
    room_id = alice.create_room(preset="public_chat")
    resp = put_alias(server, users["bob"].token, "#bob:test", room_id)
    assert_error(resp, 403, "M_FORBIDDEN")
    assert put_alias(server, users["admin"].token, "#admin:test", room_id).code == 200
    # Once joined, any member may add one (Synapse's default).
    assert users["bob"].membership(room_id, "join").code == 200
    assert put_alias(server, users["bob"].token, "#bob:test", room_id).code == 200


def test_alias_membership_requirement_can_be_lifted(
    make_server: Callable[..., TestServer],
) -> None:
    server = make_server({"room_directory": {"require_membership_for_aliases": False}})
    alice = server.user("alice")
    bob = server.user("bob")
    room_id = alice.create_room()
    assert put_alias(server, bob.token, "#bob:test", room_id).code == 200


def test_get_alias_errors(server: TestServer, users: Users) -> None:
    assert_error(get_alias(server, "#missing:test"), 404, "M_NOT_FOUND")
    assert_error(get_alias(server, "not-an-alias"), 400, "M_INVALID_PARAM")
    # Another server's alias would need federation.
    assert_error(get_alias(server, "#room:elsewhere.org"), 502, "M_UNKNOWN")


def test_get_alias_lists_servers_of_joined_members(
    server: TestServer, users: Users
) -> None:
    alice = users["alice"]
    room_id = alice.create_room(room_alias_name="lobby")
    resp = get_alias(server, "#lobby:test")
    assert resp.json == {"room_id": room_id, "servers": ["test"]}


def test_join_by_alias(server: TestServer, users: Users) -> None:
    room_id = users["alice"].create_room(preset="public_chat")
    assert put_alias(server, users["alice"].token, "#open:test", room_id).code == 200
    resp = users["bob"].post(f"{CLIENT}/join/{quote('#open:test', safe='')}", {})
    assert resp.code == 200, resp.json
    assert resp.json == {"room_id": room_id}


# -- DELETE /directory/room/{roomAlias} --------------------------------------


def test_delete_alias_by_creator(server: TestServer, users: Users) -> None:
    alice = users["alice"]
    bob = users["bob"]
    room_id = alice.create_room(preset="public_chat")
    bob.membership(room_id, "join")
    assert put_alias(server, bob.token, "#bobs:test", room_id).code == 200
    # Bob (power 0) made it, so he may remove it.
    assert delete_alias(bob, "#bobs:test").code == 200
    assert_error(get_alias(server, "#bobs:test"), 404, "M_NOT_FOUND")
    assert_error(delete_alias(bob, "#bobs:test"), 404, "M_NOT_FOUND")


def test_delete_alias_permissions(server: TestServer, users: Users) -> None:
    alice = users["alice"]
    bob = users["bob"]
    carol = users["carol"]
    room_id = alice.create_room(preset="public_chat")
    bob.membership(room_id, "join")
    carol.membership(room_id, "join")
    for name in ("one", "two", "three"):
        assert put_alias(server, alice.token, f"#{name}:test", room_id).code == 200
    # Carol is joined but lacks the power to send m.room.canonical_alias (50).
    assert_error(delete_alias(carol, "#one:test"), 403, "M_FORBIDDEN")
    # Outsiders cannot either.
    outsider = server.user("dave")
    assert_error(delete_alias(outsider, "#one:test"), 403, "M_FORBIDDEN")
    # A moderator can.
    levels = current_state(server, room_id)[("m.room.power_levels", "")]
    levels["users"][bob.user_id] = 50
    assert alice.put_state(room_id, "m.room.power_levels", levels).code == 200
    assert delete_alias(bob, "#one:test").code == 200
    # A server admin can, without being in the room.
    assert delete_alias(users["admin"], "#two:test").code == 200
    assert_error(get_alias(server, "#two:test"), 404, "M_NOT_FOUND")
    assert get_alias(server, "#three:test").code == 200


def test_delete_alias_errors(server: TestServer, users: Users) -> None:
    alice = users["alice"]
    assert_error(delete_alias(alice, "#nothing:test"), 404, "M_NOT_FOUND")
    assert_error(delete_alias(alice, "#x:elsewhere.org"), 400, "M_INVALID_PARAM")
    assert_error(delete_alias(alice, "bad"), 400, "M_INVALID_PARAM")
    resp = server.request("DELETE", alias_url("#nothing:test"))
    assert_error(resp, 401, "M_MISSING_TOKEN")


def test_delete_alias_updates_canonical_alias(server: TestServer, users: Users) -> None:
    alice = users["alice"]
    room_id = alice.create_room(room_alias_name="main")
    assert put_alias(server, alice.token, "#alt:test", room_id).code == 200
    content = {"alias": "#main:test", "alt_aliases": ["#alt:test", "#main:test"]}
    assert alice.put_state(room_id, "m.room.canonical_alias", content).code == 200
    assert delete_alias(alice, "#main:test").code == 200
    state = current_state(server, room_id)
    assert state[("m.room.canonical_alias", "")] == {"alt_aliases": ["#alt:test"]}
    assert delete_alias(alice, "#alt:test").code == 200
    assert current_state(server, room_id)[("m.room.canonical_alias", "")] == {}


def test_admin_delete_outside_room_leaves_canonical_alias(
    server: TestServer, users: Users
) -> None:
    alice = users["alice"]
    room_id = alice.create_room(room_alias_name="main")
    assert delete_alias(users["admin"], "#main:test").code == 200
    # The admin may not send events there, so the alias is gone but the event stays.
    state = current_state(server, room_id)
    assert state[("m.room.canonical_alias", "")] == {"alias": "#main:test"}


# -- GET /rooms/{roomId}/aliases ---------------------------------------------


def test_room_aliases(server: TestServer, users: Users) -> None:
    alice = users["alice"]
    room_id = alice.create_room(room_alias_name="b")
    assert put_alias(server, alice.token, "#a:test", room_id).code == 200
    url = f"{CLIENT}/rooms/{room_id}/aliases"
    resp = alice.get(url)
    assert resp.code == 200, resp.json
    assert resp.json == {"aliases": ["#a:test", "#b:test"]}
    assert_error(users["bob"].get(url), 403, "M_FORBIDDEN")
    assert users["admin"].get(url).json["aliases"] == [
        "#a:test",
        "#b:test",
    ]
    assert_error(server.request("GET", url), 401, "M_MISSING_TOKEN")
    unknown = f"{CLIENT}/rooms/!nope:test/aliases"
    assert_error(alice.get(unknown), 403, "M_FORBIDDEN")


def test_room_aliases_world_readable(server: TestServer, users: Users) -> None:
    alice = users["alice"]
    room_id = alice.create_room(room_alias_name="open")
    alice.put_state(
        room_id, "m.room.history_visibility", {"history_visibility": "world_readable"}
    )
    resp = users["bob"].get(f"{CLIENT}/rooms/{room_id}/aliases")
    assert resp.code == 200, resp.json
    assert resp.json == {"aliases": ["#open:test"]}


def test_room_aliases_after_leaving(server: TestServer, users: Users) -> None:
    alice = users["alice"]
    bob = users["bob"]
    room_id = alice.create_room(preset="public_chat")
    bob.membership(room_id, "join")
    url = f"{CLIENT}/rooms/{room_id}/aliases"
    assert bob.get(url).code == 200
    bob.membership(room_id, "leave")
    assert_error(bob.get(url), 403, "M_FORBIDDEN")


# -- m.room.canonical_alias validation ----------------------------------------


def set_canonical(user: User, room_id: str, content: Any) -> FakeResponse:
    return user.put_state(room_id, "m.room.canonical_alias", content)


def test_canonical_alias_must_point_to_the_room(
    server: TestServer, users: Users
) -> None:
    alice = users["alice"]
    room_id = alice.create_room()
    other = alice.create_room(room_alias_name="other")
    assert put_alias(server, alice.token, "#mine:test", room_id).code == 200
    assert_error(
        set_canonical(alice, room_id, {"alias": "#missing:test"}),
        400,
        "M_BAD_ALIAS",
    )
    assert_error(
        set_canonical(alice, room_id, {"alias": "#other:test"}),
        400,
        "M_BAD_ALIAS",
    )
    assert_error(
        set_canonical(alice, room_id, {"alt_aliases": ["#mine:test", "#other:test"]}),
        400,
        "M_BAD_ALIAS",
    )
    resp = set_canonical(alice, room_id, {"alias": "#mine:test", "alt_aliases": []})
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
    alice = users["alice"]
    room_id = alice.create_room()
    assert_error(set_canonical(alice, room_id, content), 400, "M_INVALID_PARAM")


def test_canonical_alias_remote_and_empty(server: TestServer, users: Users) -> None:
    alice = users["alice"]
    room_id = alice.create_room()
    # Other servers' aliases cannot be resolved without federation: syntax only.
    content = {"alias": "#room:elsewhere.org", "alt_aliases": ["#x:other.example"]}
    assert set_canonical(alice, room_id, content).code == 200
    assert set_canonical(alice, room_id, {"alias": ""}).code == 200
    assert set_canonical(alice, room_id, {}).code == 200


def test_canonical_alias_keeps_existing_entries(
    server: TestServer, users: Users
) -> None:
    alice = users["alice"]
    room_id = alice.create_room(room_alias_name="main")
    assert put_alias(server, alice.token, "#alt:test", room_id).code == 200
    content = {"alias": "#main:test", "alt_aliases": ["#alt:test"]}
    assert set_canonical(alice, room_id, content).code == 200
    # The alt alias is removed from the directory by an admin (who is not in the
    # room, so the event is not updated); aliases already present stay valid.
    assert delete_alias(users["admin"], "#alt:test").code == 200
    content = {"alias": "#main:test", "alt_aliases": ["#alt:test"], "note": "same"}
    assert set_canonical(alice, room_id, content).code == 200


def test_canonical_alias_needs_power_first(server: TestServer, users: Users) -> None:
    alice = users["alice"]
    bob = users["bob"]
    room_id = alice.create_room(preset="public_chat")
    bob.membership(room_id, "join")
    # The auth rules refuse before the aliases are looked at.
    resp = set_canonical(bob, room_id, {"alias": "#missing:test"})
    assert_error(resp, 403, "M_FORBIDDEN")


# -- /directory/list/room/{roomId} ---------------------------------------------


def visibility_url(room_id: str) -> str:
    return f"{CLIENT}/directory/list/room/{room_id}"


def test_visibility_get_and_set(server: TestServer, users: Users) -> None:
    alice = users["alice"]
    room_id = alice.create_room()
    resp = server.request("GET", visibility_url(room_id))  # no token needed
    assert resp.code == 200, resp.json
    assert resp.json == {"visibility": "private"}
    resp = alice.put(visibility_url(room_id), {"visibility": "public"})
    assert resp.code == 200, resp.json
    assert resp.json == {}
    assert server.request("GET", visibility_url(room_id)).json == {
        "visibility": "public"
    }
    resp = alice.put(visibility_url(room_id), {"visibility": "private"})
    assert resp.code == 200
    assert server.request("GET", visibility_url(room_id)).json == {
        "visibility": "private"
    }
    # The spec's default for a body without visibility is public.
    assert alice.put(visibility_url(room_id), {}).code == 200
    assert server.request("GET", visibility_url(room_id)).json == {
        "visibility": "public"
    }


def test_created_public_room_is_listed(server: TestServer, users: Users) -> None:
    room_id = users["alice"].create_room(visibility="public")
    assert server.request("GET", visibility_url(room_id)).json == {
        "visibility": "public"
    }


def test_visibility_errors(server: TestServer, users: Users) -> None:
    alice = users["alice"]
    bob = users["bob"]
    room_id = alice.create_room(preset="public_chat")
    assert_error(
        server.request("GET", visibility_url("!nope:test")), 404, "M_NOT_FOUND"
    )
    public = {"visibility": "public"}
    resp = alice.put(visibility_url("!nope:test"), public)
    assert_error(resp, 404, "M_NOT_FOUND")
    resp = alice.put(visibility_url(room_id), {"visibility": "secret"})
    # A value outside the allowed set: M_INVALID_PARAM ("a parameter that was
    # specified has the wrong value"); a wrong type stays M_BAD_JSON.
    assert_error(resp, 400, "M_INVALID_PARAM")
    resp = alice.put(visibility_url(room_id), {"visibility": 5})
    assert_error(resp, 400, "M_BAD_JSON")
    assert_error(
        server.request("PUT", visibility_url(room_id), public), 401, "M_MISSING_TOKEN"
    )
    # Not in the room; then in the room without moderator power.
    resp = bob.put(visibility_url(room_id), public)
    assert_error(resp, 403, "M_FORBIDDEN")
    bob.membership(room_id, "join")
    resp = bob.put(visibility_url(room_id), public)
    assert_error(resp, 403, "M_FORBIDDEN")
    assert server.request("GET", visibility_url(room_id)).json == {
        "visibility": "private"
    }
    # Server admins may, from outside the room.
    resp = users["admin"].put(visibility_url(room_id), public)
    assert resp.code == 200, resp.json
    assert server.request("GET", visibility_url(room_id)).json == {
        "visibility": "public"
    }
