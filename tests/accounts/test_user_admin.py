"""The user admin API at Synapse's paths and shapes: list and search, query,
create or modify, and the admin check."""

from __future__ import annotations

from typing import Any

from tests.api.helpers import login
from tests.support.server import TestServer

V2 = "/_synapse/admin/v2/users"


def _admin(server: TestServer) -> str:
    return server.register("root", admin=True)[1]


def _list(server: TestServer, token: str, query: str = "") -> Any:
    resp = server.request("GET", f"{V2}?{query}", token=token)
    assert resp.code == 200, resp.json
    return resp.json


def test_non_admins_are_refused_everywhere(server: TestServer) -> None:
    _, alice = server.register("alice")
    for method, path in (
        ("GET", V2),
        ("GET", "/_synapse/admin/v3/users"),
        ("GET", f"{V2}/@alice:test"),
        ("PUT", f"{V2}/@bob:test"),
        ("POST", "/_synapse/admin/v1/deactivate/@alice:test"),
        ("POST", "/_synapse/admin/v1/reset_password/@alice:test"),
        ("GET", "/_synapse/admin/v1/users/@alice:test/admin"),
        ("PUT", "/_synapse/admin/v1/users/@alice:test/admin"),
        ("POST", "/_synapse/admin/v1/users/@alice:test/shadow_ban"),
        ("GET", "/_synapse/admin/v1/whois/@alice:test"),
        ("GET", "/_synapse/admin/v1/users/@alice:test/joined_rooms"),
        ("GET", f"{V2}/@alice:test/devices"),
        ("DELETE", f"{V2}/@alice:test/devices/X"),
    ):
        resp = server.request(method, path, {"admin": True}, token=alice)
        assert (resp.code, resp.json["errcode"]) == (403, "M_FORBIDDEN"), path
        assert resp.json["error"] == "You are not a server admin"
        assert server.request(method, path, {}).code == 401
    # Nothing was changed by the refused calls.
    assert (
        server.request("GET", "/_matrix/client/v3/account/whoami", token=alice).code
        == 200
    )


def test_list_shape_and_pagination(server: TestServer) -> None:
    server.advance(5000)
    token = _admin(server)
    for name in ("alice", "bob", "carol"):
        server.register(name)
    body = _list(server, token, "limit=2")
    assert body["total"] == 4
    assert body["next_token"] == "2"
    assert [u["name"] for u in body["users"]] == ["@alice:test", "@bob:test"]
    alice = body["users"][0]
    assert set(alice) >= {
        "name", "is_guest", "admin", "user_type", "deactivated", "erased",
        "shadow_banned", "displayname", "avatar_url", "creation_ts",
        "last_seen_ts", "locked",
    }  # fmt: skip
    assert alice["admin"] is False and alice["deactivated"] is False
    assert alice["displayname"] == "alice"
    assert alice["creation_ts"] == 5_000_000  # ms in the list, as Synapse
    rest = _list(server, token, "limit=2&from=2")
    assert [u["name"] for u in rest["users"]] == ["@carol:test", "@root:test"]
    assert "next_token" not in rest
    backwards = _list(server, token, "dir=b&limit=1")
    assert backwards["users"][0]["name"] == "@root:test"


def test_list_filters(server: TestServer) -> None:
    token = _admin(server)
    server.register("alice")
    server.register("bob_smith")
    server.request(
        "PUT", f"{V2}/@bob_smith:test", {"displayname": "Robert"}, token=token
    )
    names = lambda q: [u["name"] for u in _list(server, token, q)["users"]]  # noqa: E731
    assert names("name=rob") == ["@bob_smith:test"]  # by display name
    assert names("name=ALI") == ["@alice:test"]  # by localpart, any case
    assert names("name=test") == []  # not the server name
    assert names("user_id=b_s") == ["@bob_smith:test"]  # _ taken literally
    assert names("user_id=b%25") == []
    assert names("admins=true") == ["@root:test"]
    assert names("admins=false") == ["@alice:test", "@bob_smith:test"]
    assert names("order_by=displayname") == [
        "@bob_smith:test",
        "@alice:test",
        "@root:test",
    ]
    resp = server.request(
        "POST", "/_synapse/admin/v1/deactivate/@alice:test", {}, token=token
    )
    assert resp.code == 200, resp.json
    assert "@alice:test" not in names("")
    assert "@alice:test" in names("deactivated=true")
    v3 = "/_synapse/admin/v3/users?deactivated=true"
    resp = server.request("GET", v3, token=token)
    assert [u["name"] for u in resp.json["users"]] == ["@alice:test"]


def test_list_bad_parameters(server: TestServer) -> None:
    token = _admin(server)
    for query in ("order_by=password", "dir=x", "from=-1", "limit=abc", "guests=x"):
        resp = server.request("GET", f"{V2}?{query}", token=token)
        assert (resp.code, resp.json["errcode"]) == (400, "M_INVALID_PARAM"), query


def test_query_user(server: TestServer) -> None:
    server.advance(5000)
    token = _admin(server)
    server.register("alice")
    resp = server.request("GET", f"{V2}/@alice:test", token=token)
    assert resp.code == 200, resp.json
    body = resp.json
    assert body["name"] == "@alice:test"
    assert body["threepids"] == [] and body["external_ids"] == []
    assert body["admin"] is False and body["shadow_banned"] is False
    assert body["locked"] is False and body["erased"] is False
    assert body["creation_ts"] == 5000  # seconds here, as Synapse
    assert body["last_seen_ts"] is not None  # alice logged in over HTTP
    resp = server.request("GET", f"{V2}/@nobody:test", token=token)
    assert (resp.code, resp.json["errcode"]) == (404, "M_NOT_FOUND")
    resp = server.request("GET", f"{V2}/@alice:elsewhere", token=token)
    assert resp.code == 400
    resp = server.request("GET", f"{V2}/alice", token=token)
    assert resp.code == 400


def test_create_user(server: TestServer) -> None:
    token = _admin(server)
    body = {
        "password": "new password 1",
        "displayname": "Dave",
        "avatar_url": "mxc://test/abc",
        "threepids": [{"medium": "email", "address": "Dave@Example.com"}],
        "admin": False,
        "user_type": "bot",
    }
    resp = server.request("PUT", f"{V2}/@dave:test", body, token=token)
    assert resp.code == 201, resp.json
    assert resp.json["name"] == "@dave:test"
    assert resp.json["displayname"] == "Dave"
    assert resp.json["avatar_url"] == "mxc://test/abc"
    assert resp.json["user_type"] == "bot"
    assert [t["address"] for t in resp.json["threepids"]] == ["dave@example.com"]
    assert login(server, "dave", "new password 1").code == 200
    profile = server.request("GET", "/_matrix/client/v3/profile/@dave:test")
    assert profile.json["displayname"] == "Dave"


def test_create_user_bad_input_writes_nothing(server: TestServer) -> None:
    token = _admin(server)
    server.request(
        "PUT",
        f"{V2}/@alice:test",
        {"threepids": [{"medium": "email", "address": "a@example.com"}]},
        token=token,
    )
    for body, code in (
        ({"user_type": "robot"}, "M_UNKNOWN"),
        ({"admin": "yes"}, "M_BAD_JSON"),
        ({"password": 5}, "M_BAD_JSON"),
        ({"password": "x" * 513}, "M_INVALID_PARAM"),
        ({"deactivated": True, "locked": True}, "M_UNKNOWN"),
        ({"threepids": [{"medium": "email"}]}, "M_MISSING_PARAM"),
        ({"threepids": [{"medium": "email", "address": "A@example.com"}]}, None),
        ({"external_ids": [{"auth_provider": "x", "external_id": "y"}]}, None),
    ):
        resp = server.request("PUT", f"{V2}/@eve:test", body, token=token)
        assert resp.code == 400, (body, resp.json)
        if code:
            assert resp.json["errcode"] == code, body
        assert server.request("GET", f"{V2}/@eve:test", token=token).code == 404


def test_modify_user(server: TestServer) -> None:
    token = _admin(server)
    _, alice = server.register("alice")
    changes = {
        "displayname": "Alice A.",
        "admin": True,
        "threepids": [{"medium": "email", "address": "alice@example.com"}],
        "user_type": "support",
        "password": "changed password 2",
        "logout_devices": True,
    }
    resp = server.request("PUT", f"{V2}/@alice:test", changes, token=token)
    assert resp.code == 200, resp.json
    assert resp.json["displayname"] == "Alice A." and resp.json["admin"] is True
    assert resp.json["user_type"] == "support"
    # The password changed and the old token is gone.
    whoami = server.request("GET", "/_matrix/client/v3/account/whoami", token=alice)
    assert whoami.code == 401
    assert login(server, "alice", "changed password 2").code == 200
    # Fields left out stay; "" removes the display name; user_type null clears.
    resp = server.request(
        "PUT",
        f"{V2}/@alice:test",
        {"displayname": "", "user_type": None, "threepids": []},
        token=token,
    )
    assert resp.code == 200, resp.json
    assert resp.json["displayname"] is None and resp.json["admin"] is True
    assert resp.json["user_type"] is None and resp.json["threepids"] == []
    # Lock: no more login.
    resp = server.request("PUT", f"{V2}/@alice:test", {"locked": True}, token=token)
    assert resp.json["locked"] is True


def test_admin_cannot_demote_self(server: TestServer) -> None:
    token = _admin(server)
    resp = server.request("PUT", f"{V2}/@root:test", {"admin": False}, token=token)
    assert (resp.code, resp.json["error"]) == (400, "You may not demote yourself.")
    path = "/_synapse/admin/v1/users/@root:test/admin"
    resp = server.request("PUT", path, {"admin": False}, token=token)
    assert resp.code == 400
    assert server.request("GET", path, token=token).json == {"admin": True}


def test_admin_flag(server: TestServer) -> None:
    token = _admin(server)
    _, alice = server.register("alice")
    path = "/_synapse/admin/v1/users/@alice:test/admin"
    assert server.request("GET", path, token=token).json == {"admin": False}
    assert server.request("PUT", path, {"admin": True}, token=token).json == {}
    assert server.request("GET", path, token=token).json == {"admin": True}
    # Checked on every call: alice's existing token is an admin's now...
    assert server.request("GET", V2, token=alice).code == 200
    server.request("PUT", path, {"admin": False}, token=token)
    # ...and no longer.
    assert server.request("GET", V2, token=alice).code == 403
    resp = server.request("PUT", path, {"admin": "no"}, token=token)
    assert resp.code == 400
    missing = "/_synapse/admin/v1/users/@nobody:test/admin"
    assert server.request("GET", missing, token=token).code == 404


def _upload(server: TestServer, token: str, data: bytes) -> None:
    resp = server.request(
        "POST",
        "/_matrix/media/v3/upload",
        data,
        token=token,
        headers={"Content-Type": "text/plain"},
    )
    assert resp.code == 200, resp.json


def test_users_media_statistics(server: TestServer) -> None:
    token = _admin(server)
    _, alice = server.register("alice")
    _, bob = server.register("bob")
    server.request("PUT", f"{V2}/@bob:test", {"displayname": "Robert"}, token=token)
    _upload(server, alice, b"12345")
    server.advance(10)
    _upload(server, alice, b"123")
    _upload(server, bob, b"1")
    path = "/_synapse/admin/v1/statistics/users/media"
    resp = server.request("GET", path, token=token)
    assert resp.code == 200, resp.json
    assert resp.json == {
        "users": [
            {
                "user_id": "@alice:test",
                "displayname": "alice",
                "media_count": 2,
                "media_length": 8,
            },
            {
                "user_id": "@bob:test",
                "displayname": "Robert",
                "media_count": 1,
                "media_length": 1,
            },
        ],
        "total": 2,
    }

    def ids(query: str) -> list[str]:
        resp = server.request("GET", f"{path}?{query}", token=token)
        assert resp.code == 200, resp.json
        return [u["user_id"] for u in resp.json["users"]]

    assert ids("order_by=media_length&dir=b") == ["@alice:test", "@bob:test"]
    assert ids("order_by=media_count") == ["@bob:test", "@alice:test"]
    assert ids("search_term=rob") == ["@bob:test"]
    assert ids("from_ts=5000") == ["@alice:test", "@bob:test"]
    assert ids("until_ts=5000") == ["@alice:test"]
    page = server.request("GET", f"{path}?limit=1", token=token).json
    assert page["next_token"] == 1 and page["total"] == 2
    for bad in ("order_by=name", "dir=x", "from_ts=5&until_ts=1", "limit=-1"):
        resp = server.request("GET", f"{path}?{bad}", token=token)
        assert (resp.code, resp.json["errcode"]) == (400, "M_INVALID_PARAM"), bad
