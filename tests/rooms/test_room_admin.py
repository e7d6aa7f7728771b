"""The room admin API at Synapse's paths and shapes: list and search,
details, members, state, block and make room admin, and the admin check."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from tests.support.server import TestServer

V1 = "/_synapse/admin/v1"


def _room(server: TestServer, token: str, **body: Any) -> str:
    resp = server.request("POST", "/_matrix/client/v3/createRoom", body, token=token)
    assert resp.code == 200, resp.json
    return str(resp.json["room_id"])


def _get(server: TestServer, token: str, path: str) -> Any:
    resp = server.request("GET", path, token=token)
    assert resp.code == 200, resp.json
    return resp.json


def test_non_admins_are_refused(server: TestServer) -> None:
    _, alice = server.register("alice")
    room = quote(_room(server, alice))
    for method, path in (
        ("GET", f"{V1}/rooms"),
        ("GET", f"{V1}/rooms/{room}"),
        ("GET", f"{V1}/rooms/{room}/members"),
        ("GET", f"{V1}/rooms/{room}/state"),
        ("GET", f"{V1}/rooms/{room}/block"),
        ("PUT", f"{V1}/rooms/{room}/block"),
        ("POST", f"{V1}/rooms/{room}/make_room_admin"),
        ("DELETE", f"{V1}/rooms/{room}"),
        ("DELETE", f"/_synapse/admin/v2/rooms/{room}"),
        ("GET", f"/_synapse/admin/v2/rooms/{room}/delete_status"),
        ("POST", f"{V1}/purge_history/{room}"),
        ("GET", f"{V1}/purge_history_status/x"),
        ("GET", f"{V1}/background_updates/status"),
    ):
        resp = server.request(method, path, {"block": True}, token=alice)
        assert (resp.code, resp.json["errcode"]) == (403, "M_FORBIDDEN"), path
        assert server.request(method, path, {}).code == 401, path
    # The refused delete changed nothing.
    assert (
        server.request(
            "GET", f"/_matrix/client/v3/rooms/{room}/joined_members", token=alice
        ).code
        == 200
    )


def test_list_shape_search_order_and_pages(server: TestServer) -> None:
    _, root = server.register("root", admin=True)
    _, alice = server.register("alice")
    _, bob = server.register("bob")
    hq = _room(
        server, alice, name="Matrix HQ", room_alias_name="hq", preset="public_chat"
    )
    twim = _room(server, alice, name="This Week In Matrix", preset="public_chat")
    server.request("POST", f"/_matrix/client/v3/join/{quote(twim)}", {}, token=bob)
    empty = _room(server, bob, name="Zzz")
    server.request(
        "POST", f"/_matrix/client/v3/rooms/{quote(empty)}/leave", {}, token=bob
    )

    body = _get(server, root, f"{V1}/rooms")
    assert body["total_rooms"] == 3 and body["offset"] == 0
    assert "next_batch" not in body and "prev_batch" not in body
    assert [r["room_id"] for r in body["rooms"]] == [hq, twim, empty]
    first = body["rooms"][0]
    assert first == {
        "room_id": hq,
        "name": "Matrix HQ",
        "canonical_alias": "#hq:test",
        "joined_members": 1,
        "joined_local_members": 1,
        "version": first["version"],
        "creator": "@alice:test",
        "encryption": None,
        "federatable": True,
        "public": False,
        "join_rules": "public",
        "guest_access": None,
        "history_visibility": "shared",
        "state_events": first["state_events"],
        "room_type": None,
    }
    assert first["state_events"] >= 6
    assert body["rooms"][1]["joined_members"] == 2

    page = _get(server, root, f"{V1}/rooms?limit=1&from=1")
    assert [r["room_id"] for r in page["rooms"]] == [twim]
    assert (page["next_batch"], page["prev_batch"], page["total_rooms"]) == (2, 0, 3)
    by_size = _get(server, root, f"{V1}/rooms?order_by=joined_members")
    assert by_size["rooms"][0]["room_id"] == twim
    backwards = _get(server, root, f"{V1}/rooms?dir=b")
    assert [r["room_id"] for r in backwards["rooms"]] == [empty, twim, hq]
    search = _get(server, root, f"{V1}/rooms?search_term=week")
    assert [r["room_id"] for r in search["rooms"]] == [twim]
    assert _get(server, root, f"{V1}/rooms?search_term=hq")["total_rooms"] == 1
    assert (
        _get(server, root, f"{V1}/rooms?search_term={quote(empty)}")["total_rooms"] == 1
    )
    empties = _get(server, root, f"{V1}/rooms?empty_rooms=true")
    assert [r["room_id"] for r in empties["rooms"]] == [empty]
    assert _get(server, root, f"{V1}/rooms?empty_rooms=false")["total_rooms"] == 2

    for query in ("order_by=nope", "dir=x", "from=-1", "limit=-2", "limit=x"):
        resp = server.request("GET", f"{V1}/rooms?{query}", token=root)
        assert (resp.code, resp.json["errcode"]) == (400, "M_INVALID_PARAM"), query


def test_details_members_and_state(server: TestServer) -> None:
    _, root = server.register("root", admin=True)
    _, alice = server.register("alice")
    _, bob = server.register("bob")
    room = _room(server, alice, name="Room", topic="About things", preset="public_chat")
    server.request("POST", f"/_matrix/client/v3/join/{quote(room)}", {}, token=bob)
    details = _get(server, root, f"{V1}/rooms/{quote(room)}")
    assert details["name"] == "Room" and details["topic"] == "About things"
    assert details["avatar"] is None and details["forgotten"] is False
    assert details["joined_local_devices"] == 2
    assert details["joined_members"] == 2
    members = _get(server, root, f"{V1}/rooms/{quote(room)}/members")
    assert members == {"members": ["@alice:test", "@bob:test"], "total": 2}
    state = _get(server, root, f"{V1}/rooms/{quote(room)}/state")["state"]
    types = {(e["type"], e["state_key"]) for e in state}
    assert ("m.room.create", "") in types and ("m.room.member", "@bob:test") in types
    assert all(e["room_id"] == room for e in state)

    extremities = _get(server, root, f"{V1}/rooms/{quote(room)}/forward_extremities")
    assert extremities["count"] == 1
    (latest,) = extremities["results"]
    bob_join = [e for e in state if e.get("state_key") == "@bob:test"][0]
    assert latest["event_id"] == bob_join["event_id"]  # the room's last event
    assert latest["received_ts"] is None and isinstance(latest["state_group"], int)
    assert set(latest) == {"event_id", "state_group", "depth", "received_ts"}
    for path in ("", "/members", "/state", "/forward_extremities"):
        resp = server.request(
            "GET", f"{V1}/rooms/{quote('!nope:test')}{path}", token=root
        )
        assert (resp.code, resp.json["errcode"]) == (404, "M_NOT_FOUND"), path
    resp = server.request("GET", f"{V1}/rooms/nope", token=root)
    assert (resp.code, resp.json["errcode"]) == (400, "M_INVALID_PARAM")


def test_block_keeps_local_users_out(server: TestServer) -> None:
    root_id, root = server.register("root", admin=True)
    _, alice = server.register("alice")
    _, bob = server.register("bob")
    room = quote(_room(server, alice, preset="public_chat"))
    assert _get(server, root, f"{V1}/rooms/{room}/block") == {"block": False}
    resp = server.request(
        "PUT", f"{V1}/rooms/{room}/block", {"block": True}, token=root
    )
    assert resp.code == 200 and resp.json == {"block": True}
    status = _get(server, root, f"{V1}/rooms/{room}/block")
    assert status == {"block": True, "user_id": root_id}
    join = server.request("POST", f"/_matrix/client/v3/join/{room}", {}, token=bob)
    assert (join.code, join.json["errcode"]) == (403, "M_FORBIDDEN")
    invite = server.request(
        "POST",
        f"/_matrix/client/v3/rooms/{room}/invite",
        {"user_id": "@bob:test"},
        token=alice,
    )
    assert invite.code == 403
    bad = server.request(
        "PUT", f"{V1}/rooms/{room}/block", {"block": "yes"}, token=root
    )
    assert bad.code == 400
    server.request("PUT", f"{V1}/rooms/{room}/block", {"block": False}, token=root)
    assert _get(server, root, f"{V1}/rooms/{room}/block") == {"block": False}
    assert (
        server.request("POST", f"/_matrix/client/v3/join/{room}", {}, token=bob).code
        == 200
    )
    # A room the server does not know can be blocked ahead of time.
    unknown = quote("!future:elsewhere")
    resp = server.request(
        "PUT", f"{V1}/rooms/{unknown}/block", {"block": True}, token=root
    )
    assert resp.json == {"block": True}


def test_make_room_admin(server: TestServer) -> None:
    _, root = server.register("root", admin=True)
    _, alice = server.register("alice")
    server.register("bob")
    room = _room(server, alice, preset="private_chat")
    path = f"{V1}/rooms/{quote(room)}/make_room_admin"
    resp = server.request("POST", path, {"user_id": "@bob:test"}, token=root)
    assert resp.code == 200 and resp.json == {}
    levels = _get(
        server,
        alice,
        f"/_matrix/client/v3/rooms/{quote(room)}/state/m.room.power_levels/",
    )
    assert levels["users"]["@bob:test"] == 100
    members = _get(server, root, f"{V1}/rooms/{quote(room)}/state")["state"]
    bob = [
        e
        for e in members
        if e.get("state_key") == "@bob:test" and e["type"] == "m.room.member"
    ]
    assert bob[0]["content"]["membership"] == "invite"
    resp = server.request("POST", path, {"user_id": "@carol:elsewhere"}, token=root)
    assert resp.code == 400


def test_admin_join_of_a_local_user(server: TestServer) -> None:
    root_id, root = server.register("root", admin=True)
    _, alice = server.register("alice")
    _, bob = server.register("bob")
    public = _room(server, alice, preset="public_chat", room_alias_name="town")
    resp = server.request(
        "POST", f"{V1}/join/{quote('#town:test')}", {"user_id": "@bob:test"}, token=root
    )
    assert resp.code == 200 and resp.json == {"room_id": public}
    joined = _get(server, bob, "/_matrix/client/v3/joined_rooms")["joined_rooms"]
    assert joined == [public]
    # A private room: the admin must be able to invite (here: made room admin).
    private = _room(server, alice, preset="private_chat")
    path = f"{V1}/join/{quote(private)}"
    refused = server.request("POST", path, {"user_id": "@bob:test"}, token=root)
    assert refused.code == 403
    server.request(
        "POST", f"{V1}/rooms/{quote(private)}/make_room_admin", {}, token=root
    )
    # make_room_admin invited the admin into the private room.
    server.request("POST", f"/_matrix/client/v3/join/{quote(private)}", {}, token=root)
    resp = server.request("POST", path, {"user_id": "@bob:test"}, token=root)
    assert resp.code == 200, resp.json
    members = _get(server, root, f"{V1}/rooms/{quote(private)}/members")["members"]
    assert members == ["@alice:test", "@bob:test", root_id]
    for body, code in (
        ({"user_id": "@nobody:test"}, 404),
        ({"user_id": "@bob:elsewhere"}, 400),
        ({}, 400),
    ):
        assert server.request("POST", path, body, token=root).code == code, body
