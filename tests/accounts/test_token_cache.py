"""The access-token cache (TokenStore.get_access_token_cached) never outlives
what a token means: every path that revokes a token or changes its account
is seen by the very next request. Each test warms the token first (a request
that fills the cache), then changes it over HTTP, then uses it again."""

from __future__ import annotations

from typing import Any

from tests.api.helpers import (
    ADMIN,
    CLIENT,
    login_token,
    password_auth,
    uia_request,
    whoami,
)
from tests.support.client import User
from tests.support.server import TestServer

V2 = "/_synapse/admin/v2/users"


def _warm(server: TestServer, token: str) -> None:
    for _ in range(2):
        assert whoami(server, token).code == 200


def _revoked(server: TestServer, token: str, errcode: str = "M_UNKNOWN_TOKEN") -> None:
    resp = whoami(server, token)
    assert resp.code == 401, resp.json
    assert resp.json["errcode"] == errcode


def _root_and_warm_alice(server: TestServer) -> tuple[str, User]:
    """An admin's token, and alice logged in with her token warm."""
    root = server.register("root", admin=True)[1]
    alice = server.user("alice")
    _warm(server, alice.token)
    return root, alice


def _device(server: TestServer, token: str) -> str:
    return str(whoami(server, token).json["device_id"])


def test_logout(server: TestServer) -> None:
    alice = server.user("alice")
    _warm(server, alice.token)
    assert server.request("POST", f"{CLIENT}/logout", {}, token=alice.token).code == 200
    _revoked(server, alice.token)


def test_logout_all(server: TestServer) -> None:
    alice = server.user("alice")
    other = login_token(server, "alice")
    _warm(server, other)
    resp = server.request("POST", f"{CLIENT}/logout/all", {}, token=alice.token)
    assert resp.code == 200
    _revoked(server, other)
    _revoked(server, alice.token)


def test_client_device_deletion(server: TestServer) -> None:
    alice = server.user("alice")
    one, two = login_token(server, "alice"), login_token(server, "alice")
    _warm(server, one)
    _warm(server, two)
    auth = password_auth("alice")
    path = f"{CLIENT}/devices/{_device(server, one)}"
    resp = uia_request(server, "DELETE", path, {}, alice.token, auth)
    assert resp.code == 200, resp.json
    _revoked(server, one)
    body = {"devices": [_device(server, two)]}
    path = f"{CLIENT}/delete_devices"
    resp = uia_request(server, "POST", path, body, alice.token, auth)
    assert resp.code == 200, resp.json
    _revoked(server, two)
    _warm(server, alice.token)


def test_admin_device_deletion(server: TestServer) -> None:
    root, alice = _root_and_warm_alice(server)
    path = f"{V2}/@alice:test/devices/{alice.device_id}"
    assert server.request("DELETE", path, token=root).code == 200
    _revoked(server, alice.token)


def test_client_deactivation(server: TestServer) -> None:
    alice = server.user("alice")
    _warm(server, alice.token)
    resp = uia_request(
        server,
        "POST",
        f"{CLIENT}/account/deactivate",
        {},
        alice.token,
        password_auth("alice"),
    )
    assert resp.code == 200, resp.json
    _revoked(server, alice.token)


def test_admin_deactivation(server: TestServer) -> None:
    root, alice = _root_and_warm_alice(server)
    resp = server.request("POST", f"{ADMIN}/deactivate/@alice:test", {}, token=root)
    assert resp.code == 200, resp.json
    _revoked(server, alice.token)


def test_password_change_logs_out_other_devices(server: TestServer) -> None:
    alice = server.user("alice")
    other = login_token(server, "alice")
    _warm(server, other)
    body: dict[str, Any] = {"new_password": "brand-new-pw", "logout_devices": True}
    resp = uia_request(
        server,
        "POST",
        f"{CLIENT}/account/password",
        body,
        alice.token,
        password_auth("alice"),
    )
    assert resp.code == 200, resp.json
    _revoked(server, other)
    _warm(server, alice.token)


def test_admin_lock(server: TestServer) -> None:
    root, alice = _root_and_warm_alice(server)
    resp = server.request("PUT", f"{V2}/@alice:test", {"locked": True}, token=root)
    assert resp.code == 200, resp.json
    _revoked(server, alice.token, "M_USER_LOCKED")
    resp = server.request("PUT", f"{V2}/@alice:test", {"locked": False}, token=root)
    assert resp.code == 200, resp.json
    _warm(server, alice.token)


def test_admin_flag_revoked(server: TestServer) -> None:
    root = server.register("root", admin=True)[1]
    boss = server.user("boss", admin=True)
    listing = f"{V2}/@root:test"
    assert server.request("GET", listing, token=boss.token).code == 200
    resp = server.request(
        "PUT", f"{ADMIN}/users/@boss:test/admin", {"admin": False}, token=root
    )
    assert resp.code == 200, resp.json
    assert server.request("GET", listing, token=boss.token).code == 403


def test_admin_flag_via_v2_and_user_type(server: TestServer) -> None:
    root = server.register("root", admin=True)[1]
    boss = server.user("boss", admin=True)
    listing = f"{V2}/@root:test"
    assert server.request("GET", listing, token=boss.token).code == 200
    body = {"admin": False, "user_type": "bot"}
    assert server.request("PUT", f"{V2}/@boss:test", body, token=root).code == 200
    assert server.request("GET", listing, token=boss.token).code == 403


def test_shadow_ban(server: TestServer) -> None:
    root = server.register("root", admin=True)[1]
    eve = server.user("eve")
    bob = server.user("bob")
    resp = server.request(
        "POST", f"{CLIENT}/createRoom", {"preset": "public_chat"}, token=bob.token
    )
    room = resp.json["room_id"]
    assert (
        server.request("POST", f"{CLIENT}/join/{room}", {}, token=eve.token).code == 200
    )
    _warm(server, eve.token)
    ban = server.request("POST", f"{ADMIN}/users/@eve:test/shadow_ban", token=root)
    assert ban.code == 200
    # Shadow-banned at once: the send looks done but goes nowhere.
    send = f"{CLIENT}/rooms/{room}/send/m.room.message/t1"
    resp = server.request(
        "PUT", send, {"msgtype": "m.text", "body": "spam"}, token=eve.token
    )
    assert resp.code == 200, resp.json
    event = server.request(
        "GET", f"{CLIENT}/rooms/{room}/event/{resp.json['event_id']}", token=bob.token
    )
    assert event.code == 404


def test_expiring_token_expires_while_cached(server: TestServer) -> None:
    server.register("alice")
    resp = server.request(
        "POST", f"{CLIENT}/login", {**password_auth("alice"), "refresh_token": True}
    )
    assert resp.code == 200, resp.json
    token = resp.json["access_token"]
    expires = resp.json["expires_in_ms"] / 1000
    _warm(server, token)
    server.advance(expires + 1)
    resp = whoami(server, token)
    assert resp.code == 401 and resp.json["errcode"] == "M_UNKNOWN_TOKEN"
    assert resp.json["soft_logout"] is True


def test_refresh_retires_the_old_access_token(server: TestServer) -> None:
    server.register("alice")
    resp = server.request(
        "POST", f"{CLIENT}/login", {**password_auth("alice"), "refresh_token": True}
    )
    old = resp.json["access_token"]
    _warm(server, old)
    new = server.request(
        "POST", f"{CLIENT}/refresh", {"refresh_token": resp.json["refresh_token"]}
    )
    assert new.code == 200, new.json
    # Using the new pair retires the old refresh token and its access token.
    _warm(server, new.json["access_token"])
    again = server.request(
        "POST", f"{CLIENT}/refresh", {"refresh_token": resp.json["refresh_token"]}
    )
    assert again.code == 401


def test_login_as_user_token_expires(server: TestServer) -> None:
    root = server.register("root", admin=True)[1]
    server.register("alice")
    path = f"{ADMIN}/users/@alice:test/login"
    resp = server.request("POST", path, {"valid_until_ms": 5000}, token=root)
    token = resp.json["access_token"]
    _warm(server, token)
    server.advance(6)
    _revoked(server, token)


def test_login_as_user_token_dies_with_logout_all(server: TestServer) -> None:
    root = server.register("root", admin=True)[1]
    alice = server.user("alice")
    resp = server.request("POST", f"{ADMIN}/users/@alice:test/login", {}, token=root)
    token = resp.json["access_token"]
    _warm(server, token)
    assert (
        server.request("POST", f"{CLIENT}/logout/all", {}, token=alice.token).code
        == 200
    )
    _revoked(server, token)


def test_a_warm_token_serves_the_same_requester_until_it_changes(
    server: TestServer,
) -> None:
    """While the token cache answers with the same info, the requester made
    of it is reused (not rebuilt, its user ID parsed again, per request);
    once the account changes, a new one says so."""
    root = server.register("root", admin=True)[1]
    alice = server.user("alice")
    auth = server.hs.accounts.auth
    first = server.get_success(auth.get_user_by_access_token(alice.token))
    again = server.get_success(auth.get_user_by_access_token(alice.token))
    assert again is first and not first.is_admin
    resp = server.request("PUT", f"{V2}/{alice.user_id}", {"admin": True}, token=root)
    assert resp.code == 200, resp.json
    promoted = server.get_success(auth.get_user_by_access_token(alice.token))
    assert promoted is not first and promoted.is_admin
    assert promoted.user_id == first.user_id == alice.user_id
