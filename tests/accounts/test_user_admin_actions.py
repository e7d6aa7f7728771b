"""The user admin API's actions: deactivate (and erase), reset password,
shadow-ban, whois, a user's rooms and devices."""

from __future__ import annotations

from tests.api.helpers import login, password_auth, uia_request
from tests.support.server import TestServer

V1 = "/_synapse/admin/v1"
V2 = "/_synapse/admin/v2/users"
CLIENT = "/_matrix/client/v3"
PUSHER = {
    "kind": "http",
    "app_id": "m.http",
    "pushkey": "key1",
    "app_display_name": "App",
    "device_display_name": "Phone",
    "lang": "en",
    "data": {"url": "https://push.example.org/_matrix/push/v1/notify"},
}


def _room(server: TestServer, token: str, invite: list[str] | None = None) -> str:
    resp = server.request(
        "POST",
        f"{CLIENT}/createRoom",
        {"invite": invite or [], "preset": "public_chat"},
        token=token,
    )
    assert resp.code == 200, resp.json
    return str(resp.json["room_id"])


def _member(server: TestServer, token: str, room: str, user: str) -> str | None:
    path = f"{CLIENT}/rooms/{room}/state/m.room.member/{user}"
    resp = server.request("GET", path, token=token)
    return resp.json.get("membership") if resp.code == 200 else None


def _alice_in_two_rooms(server: TestServer) -> tuple[str, str, str, str, str]:
    """An admin, bob, and alice joined to one of bob's rooms and invited to
    another: (root, bob, alice tokens, joined room, invited room)."""
    root = server.register("root", admin=True)[1]
    _, bob = server.register("bob")
    _, alice = server.register("alice")
    joined = _room(server, bob)
    assert (
        server.request("POST", f"{CLIENT}/join/{joined}", {}, token=alice).code == 200
    )
    return root, bob, alice, joined, _room(server, bob, invite=["@alice:test"])


def test_deactivate_leaves_rooms_and_erases(server: TestServer) -> None:
    root, bob, alice, joined, invited = _alice_in_two_rooms(server)
    memberships = server.request(
        "GET", f"{V1}/users/@alice:test/memberships", token=root
    ).json
    assert memberships == {"memberships": {joined: "join", invited: "invite"}}
    rooms = server.request("GET", f"{V1}/users/@alice:test/joined_rooms", token=root)
    assert rooms.json == {"joined_rooms": [joined], "total": 1}
    ignored = {"ignored_users": {"@bob:test": {}}}
    path = f"{CLIENT}/user/@alice:test/account_data/m.ignored_user_list"
    assert server.request("PUT", path, ignored, token=alice).code == 200
    tag = f"{CLIENT}/user/@alice:test/rooms/{joined}/tags/u.work"
    assert server.request("PUT", tag, {}, token=alice).code == 200
    data = server.request("GET", f"{V1}/users/@alice:test/accountdata", token=root)
    assert data.json["account_data"]["global"]["m.ignored_user_list"] == ignored
    assert data.json["account_data"]["rooms"][joined]["m.tag"] == {
        "tags": {"u.work": {}}
    }

    resp = server.request(
        "POST", f"{V1}/deactivate/@alice:test", {"erase": True}, token=root
    )
    assert resp.code == 200, resp.json
    assert "id_server_unbind_result" in resp.json
    assert _member(server, bob, joined, "@alice:test") == "leave"
    assert _member(server, bob, invited, "@alice:test") == "leave"
    assert server.request("GET", f"{CLIENT}/account/whoami", token=alice).code == 401
    assert login(server, "alice").code == 403
    user = server.request("GET", f"{V2}/@alice:test", token=root).json
    assert user["deactivated"] is True and user["erased"] is True
    assert user["displayname"] is None
    data = server.request("GET", f"{V1}/users/@alice:test/accountdata", token=root)
    assert data.json == {"account_data": {"global": {}, "rooms": {}}}
    # Again: nothing left to do, still 200; unknown and remote users are not.
    resp = server.request("POST", f"{V1}/deactivate/@alice:test", token=root)
    assert resp.code == 200, resp.json
    resp = server.request("POST", f"{V1}/deactivate/@nobody:test", {}, token=root)
    assert (resp.code, resp.json["errcode"]) == (404, "M_NOT_FOUND")
    resp = server.request("POST", f"{V1}/deactivate/@a:elsewhere", {}, token=root)
    assert resp.code == 400
    resp = server.request(
        "POST", f"{V1}/deactivate/@bob:test", {"erase": 1}, token=root
    )
    assert resp.code == 400
    assert server.request("GET", f"{CLIENT}/account/whoami", token=bob).code == 200


def test_own_deactivation_with_erase_does_what_the_admin_api_does(
    server: TestServer,
) -> None:
    """POST /account/deactivate {erase}: as Synapse, the user leaves every
    room (and rejects invites), and loses pushers, addresses, account data,
    profile and devices; the user is marked erased."""
    root, bob, alice, joined, invited = _alice_in_two_rooms(server)
    alice_id = "@alice:test"
    assert (
        server.request("POST", f"{CLIENT}/pushers/set", PUSHER, token=alice).code == 200
    )
    path = f"{CLIENT}/user/{alice_id}/account_data/m.ignored_user_list"
    assert server.request("PUT", path, {"ignored_users": {}}, token=alice).code == 200
    server.get_success(
        server.hs.threepids.account.add_registered(alice_id, "email", "a@x.org", 1)
    )
    body = {"erase": True}
    resp = uia_request(
        server,
        "POST",
        f"{CLIENT}/account/deactivate",
        body,
        alice,
        password_auth(alice_id),
    )
    assert resp.code == 200, resp.json
    server.advance(1)
    assert _member(server, bob, joined, alice_id) == "leave"
    assert _member(server, bob, invited, alice_id) == "leave"
    user = server.request("GET", f"{V2}/{alice_id}", token=root).json
    assert user["deactivated"] is True and user["erased"] is True
    assert user["threepids"] == [] and user["displayname"] is None
    pushers = server.request("GET", f"{V1}/users/{alice_id}/pushers", token=root).json
    assert pushers == {"pushers": [], "total": 0}
    data = server.request("GET", f"{V1}/users/{alice_id}/accountdata", token=root)
    assert data.json == {"account_data": {"global": {}, "rooms": {}}}
    devices = server.request("GET", f"{V2}/{alice_id}/devices", token=root).json
    assert devices["total"] == 0


def test_reactivate_with_a_new_password(server: TestServer) -> None:
    root = server.register("root", admin=True)[1]
    server.register("alice")
    server.request("POST", f"{V1}/deactivate/@alice:test", {}, token=root)
    body = {"deactivated": False, "password": "back again 3"}
    resp = server.request("PUT", f"{V2}/@alice:test", body, token=root)
    assert resp.code == 200, resp.json
    assert resp.json["deactivated"] is False
    assert login(server, "alice", "back again 3").code == 200


def test_reset_password(server: TestServer) -> None:
    root = server.register("root", admin=True)[1]
    _, alice = server.register("alice")
    path = f"{V1}/reset_password/@alice:test"
    body = {"new_password": "reset password 4", "logout_devices": False}
    assert server.request("POST", path, body, token=root).json == {}
    assert server.request("GET", f"{CLIENT}/account/whoami", token=alice).code == 200
    assert login(server, "alice", "reset password 4").code == 200
    assert (
        server.request("POST", path, {"new_password": "x" * 20}, token=root).code == 200
    )
    assert server.request("GET", f"{CLIENT}/account/whoami", token=alice).code == 401
    resp = server.request("POST", path, {}, token=root)
    assert (resp.code, resp.json["errcode"]) == (400, "M_MISSING_PARAM")
    resp = server.request("POST", path, {"new_password": "x"}, token=root)
    assert (resp.code, resp.json["errcode"]) == (400, "M_WEAK_PASSWORD")
    missing = f"{V1}/reset_password/@nobody:test"
    assert server.request("POST", missing, body, token=root).code == 404


def test_shadow_ban_flag(server: TestServer) -> None:
    root = server.register("root", admin=True)[1]
    server.register("alice")
    path = f"{V1}/users/@alice:test/shadow_ban"
    assert server.request("POST", path, token=root).json == {}
    assert server.request("GET", f"{V2}/@alice:test", token=root).json["shadow_banned"]
    assert server.request("DELETE", path, token=root).json == {}
    user = server.request("GET", f"{V2}/@alice:test", token=root).json
    assert user["shadow_banned"] is False
    resp = server.request("POST", f"{V1}/users/@bob:elsewhere/shadow_ban", token=root)
    assert resp.code == 400


def test_whois(server: TestServer) -> None:
    root = server.register("root", admin=True)[1]
    server.register("alice")
    resp = server.request("GET", f"{V1}/whois/@alice:test", token=root)
    assert resp.code == 200, resp.json
    assert resp.json["user_id"] == "@alice:test"
    (device,) = resp.json["devices"].values()
    (session,) = device["sessions"]
    assert session["connections"][0]["ip"] == "127.0.0.1"
    assert server.request("GET", f"{V1}/whois/@a:elsewhere", token=root).code == 400


def test_devices(server: TestServer) -> None:
    root = server.register("root", admin=True)[1]
    _, alice = server.register("alice")
    devices = f"{V2}/@alice:test/devices"
    listed = server.request("GET", devices, token=root).json
    assert listed["total"] == 1
    first = listed["devices"][0]
    assert first["user_id"] == "@alice:test" and first["last_seen_ip"] == "127.0.0.1"
    assert set(first) >= {"display_name", "last_seen_user_agent", "last_seen_ts"}

    assert server.request("POST", devices, {"device_id": "NEW"}, token=root).json == {}
    assert server.request("GET", f"{devices}/NEW", token=root).json == {
        "device_id": "NEW",
        "display_name": None,
        "last_seen_ip": None,
        "last_seen_user_agent": None,
        "last_seen_ts": server.hs.core.clock.time_msec(),
        "user_id": "@alice:test",
    }
    rename = {"display_name": "Phone"}
    assert server.request("PUT", f"{devices}/NEW", rename, token=root).json == {}
    assert (
        server.request("GET", f"{devices}/NEW", token=root).json["display_name"]
        == "Phone"
    )
    assert server.request("PUT", f"{devices}/NONE", rename, token=root).code == 404
    assert server.request("DELETE", f"{devices}/NEW", token=root).json == {}
    assert server.request("GET", f"{devices}/NEW", token=root).code == 404

    delete = f"{V2}/@alice:test/delete_devices"
    body = {"devices": [first["device_id"], "UNKNOWN"]}
    assert server.request("POST", delete, body, token=root).json == {}
    assert server.request("GET", f"{CLIENT}/account/whoami", token=alice).code == 401
    assert server.request("GET", devices, token=root).json == {
        "devices": [],
        "total": 0,
    }
    assert server.request("POST", devices, {}, token=root).code == 400
    assert server.request("GET", f"{V2}/@nobody:test/devices", token=root).code == 404


def test_pushers(server: TestServer) -> None:
    root = server.register("root", admin=True)[1]
    _, alice = server.register("alice")
    path = f"{V1}/users/@alice:test/pushers"
    assert server.request("GET", path, token=root).json == {"pushers": [], "total": 0}
    resp = server.request("POST", f"{CLIENT}/pushers/set", PUSHER, token=alice)
    assert resp.code == 200, resp.json
    listed = server.request("GET", path, token=root).json
    assert listed["total"] == 1
    assert listed["pushers"][0]["pushkey"] == "key1"
    assert listed["pushers"][0]["data"]["url"].startswith("https://push.")
    assert (
        server.request("GET", f"{V1}/users/@nobody:test/pushers", token=root).code
        == 404
    )


def test_username_available(server: TestServer) -> None:
    root = server.register("root", admin=True)[1]
    path = f"{V1}/username_available?username="
    assert server.request("GET", path + "newbie", token=root).json == {
        "available": True
    }
    resp = server.request("GET", path + "root", token=root)
    assert (resp.code, resp.json["errcode"]) == (400, "M_USER_IN_USE")
    resp = server.request("GET", path + "Bad%20Name", token=root)
    assert (resp.code, resp.json["errcode"]) == (400, "M_INVALID_USERNAME")
    resp = server.request("GET", f"{V1}/username_available", token=root)
    assert resp.code == 400


def test_login_as_user(server: TestServer) -> None:
    root = server.register("root", admin=True)[1]
    server.register("alice")
    path = f"{V1}/users/@alice:test/login"
    resp = server.request("POST", path, {}, token=root)
    assert resp.code == 200, resp.json
    token = resp.json["access_token"]
    whoami = server.request("GET", f"{CLIENT}/account/whoami", token=token)
    assert whoami.json["user_id"] == "@alice:test"
    # Not one of alice's devices.
    devices = server.request("GET", f"{V2}/@alice:test/devices", token=root).json
    assert devices["total"] == 1
    expiring = server.request("POST", path, {"valid_until_ms": 1000}, token=root)
    server.advance(2)
    late = server.request(
        "GET", f"{CLIENT}/account/whoami", token=expiring.json["access_token"]
    )
    assert late.code == 401
    resp = server.request("POST", f"{V1}/users/@root:test/login", {}, token=root)
    assert resp.code == 400
    assert server.request("POST", path, {"valid_until_ms": "x"}, token=root).code == 400


def test_synapse_admin_round_trip(server: TestServer) -> None:
    """synapse-admin percent-encodes the user ID and PUTs back the whole
    record it read (with fields of its own)."""
    root = server.register("root", admin=True)[1]
    server.register("alice")
    encoded = f"{V2}/%40alice%3Atest"
    record = server.request("GET", encoded, token=root).json
    assert record["name"] == "@alice:test"
    record = {k: v for k, v in record.items() if v is not None}
    record.update(
        id="@alice:test",
        creation_ts_ms=record["creation_ts"] * 1000,
        displayname="Alice Edited",
        user_type=None,
    )
    resp = server.request("PUT", encoded, record, token=root)
    assert resp.code == 200, resp.json
    assert resp.json["displayname"] == "Alice Edited"
    assert resp.json["deactivated"] is False and resp.json["admin"] is False
