"""Synapse-compatible admin API: shared-secret registration and registration tokens."""

from __future__ import annotations

from typing import Any

from tests.api.helpers import ADMIN, PASSWORD, login, shared_secret_mac, whoami
from tests.support.server import FakeResponse, TestServer

REGISTER = f"{ADMIN}/register"
TOKENS = f"{ADMIN}/registration_tokens"


def nonce(server: TestServer) -> str:
    resp = server.request("GET", REGISTER)
    assert resp.code == 200, resp.json
    return str(resp.json["nonce"])


def shared_secret_register(
    server: TestServer, username: str, admin: bool = False, **extra: Any
) -> FakeResponse:
    n = nonce(server)
    body = {
        "nonce": n,
        "username": username,
        "password": PASSWORD,
        "admin": admin,
        "mac": shared_secret_mac(n, username, PASSWORD, admin),
        **extra,
    }
    return server.request("POST", REGISTER, body)


def test_shared_secret_registration(server: TestServer) -> None:
    resp = shared_secret_register(server, "alice", displayname="Alice")
    assert resp.code == 200, resp.json
    assert resp.json["user_id"] == "@alice:test"
    assert resp.json["device_id"]
    me = whoami(server, resp.json["access_token"])
    assert me.json["user_id"] == "@alice:test"
    assert login(server, "alice").code == 200
    profile = server.request("GET", "/_matrix/client/v3/profile/@alice:test")
    assert profile.json["displayname"] == "Alice"
    # Not an admin: the admin API refuses the token.
    resp = server.request("GET", TOKENS, token=resp.json["access_token"])
    assert (resp.code, resp.json["errcode"]) == (403, "M_FORBIDDEN")


def test_shared_secret_registration_of_an_admin(server: TestServer) -> None:
    resp = shared_secret_register(server, "root", admin=True)
    assert resp.code == 200, resp.json
    assert server.request("GET", TOKENS, token=resp.json["access_token"]).code == 200


def test_shared_secret_works_with_registration_disabled(make_server: Any) -> None:
    server = make_server({"registration": {"enable_registration": False}})
    assert shared_secret_register(server, "alice").code == 200


def test_bad_mac(server: TestServer) -> None:
    n = nonce(server)
    for mac in (
        shared_secret_mac(n, "alice", PASSWORD, admin=True),
        shared_secret_mac(n, "alice", PASSWORD, secret="wrong"),
    ):
        body = {"nonce": n, "username": "alice", "password": PASSWORD, "mac": mac}
        resp = server.request("POST", REGISTER, body)
        assert resp.code in (400, 403)
        n = nonce(server)
    body = {"nonce": n, "username": "alice", "password": PASSWORD, "mac": "0" * 40}
    resp = server.request("POST", REGISTER, body)
    assert (resp.code, resp.json["errcode"]) == (403, "M_FORBIDDEN")
    assert (
        server.get_success(server.hs.accounts.stores.users.get_user("@alice:test"))
        is None
    )


def test_nonce_is_single_use(server: TestServer) -> None:
    n = nonce(server)
    body = {
        "nonce": n,
        "username": "alice",
        "password": PASSWORD,
        "mac": shared_secret_mac(n, "alice", PASSWORD),
    }
    assert server.request("POST", REGISTER, body).code == 200
    body = {**body, "username": "bob", "mac": shared_secret_mac(n, "bob", PASSWORD)}
    resp = server.request("POST", REGISTER, body)
    assert resp.code == 400
    assert (
        server.get_success(server.hs.accounts.stores.users.get_user("@bob:test"))
        is None
    )


def test_nonce_is_burnt_by_a_bad_mac(server: TestServer) -> None:
    n = nonce(server)
    body = {"nonce": n, "username": "alice", "password": PASSWORD, "mac": "0" * 40}
    assert server.request("POST", REGISTER, body).code == 403
    body["mac"] = shared_secret_mac(n, "alice", PASSWORD)
    assert server.request("POST", REGISTER, body).code == 400


def test_unknown_and_expired_nonce(server: TestServer) -> None:
    body = {
        "nonce": "made-up",
        "username": "alice",
        "password": PASSWORD,
        "mac": shared_secret_mac("made-up", "alice", PASSWORD),
    }
    assert server.request("POST", REGISTER, body).code == 400
    n = nonce(server)
    server.advance(61)
    body = {
        "nonce": n,
        "username": "alice",
        "password": PASSWORD,
        "mac": shared_secret_mac(n, "alice", PASSWORD),
    }
    assert server.request("POST", REGISTER, body).code == 400


def test_shared_secret_user_in_use_and_invalid(server: TestServer) -> None:
    assert shared_secret_register(server, "alice").code == 200
    resp = shared_secret_register(server, "alice")
    assert (resp.code, resp.json["errcode"]) == (400, "M_USER_IN_USE")
    resp = shared_secret_register(server, "Not Valid")
    assert (resp.code, resp.json["errcode"]) == (400, "M_INVALID_USERNAME")


def test_shared_secret_bad_body(server: TestServer) -> None:
    n = nonce(server)
    for body in (
        {},
        {"nonce": n},
        {"nonce": n, "username": "a", "password": PASSWORD, "mac": "x", "admin": "yes"},
    ):
        assert server.request("POST", REGISTER, body).code == 400, body


def test_shared_secret_not_configured(make_server: Any) -> None:
    server = make_server({"registration": {"registration_shared_secret": None}})
    assert server.request("GET", REGISTER).code == 400


# Registration tokens.


def admin_token(server: TestServer) -> str:
    return server.register("admin", admin=True)[1]


def test_token_crud(server: TestServer) -> None:
    admin = admin_token(server)
    resp = server.request("POST", f"{TOKENS}/new", {}, token=admin)
    assert resp.code == 200, resp.json
    random_token = resp.json["token"]
    assert len(random_token) == 16
    assert resp.json == {
        "token": random_token,
        "uses_allowed": None,
        "pending": 0,
        "completed": 0,
        "expiry_time": None,
    }

    resp = server.request(
        "POST",
        f"{TOKENS}/new",
        {"token": "abcd", "uses_allowed": 3, "expiry_time": 10_000_000},
        token=admin,
    )
    assert resp.json == {
        "token": "abcd",
        "uses_allowed": 3,
        "pending": 0,
        "completed": 0,
        "expiry_time": 10_000_000,
    }
    resp = server.request("POST", f"{TOKENS}/new", {"length": 64}, token=admin)
    assert len(resp.json["token"]) == 64
    assert server.request("POST", f"{TOKENS}/new", None, token=admin).code == 200

    listed = server.request("GET", TOKENS, token=admin).json["registration_tokens"]
    assert len(listed) == 4
    assert {
        "token": "abcd",
        "uses_allowed": 3,
        "pending": 0,
        "completed": 0,
        "expiry_time": 10_000_000,
    } in listed

    resp = server.request("GET", f"{TOKENS}/abcd", token=admin)
    assert resp.json["uses_allowed"] == 3

    resp = server.request("PUT", f"{TOKENS}/abcd", {"uses_allowed": None}, token=admin)
    assert resp.code == 200
    assert resp.json["uses_allowed"] is None
    assert resp.json["expiry_time"] == 10_000_000
    resp = server.request(
        "PUT", f"{TOKENS}/abcd", {"expiry_time": None, "uses_allowed": 7}, token=admin
    )
    assert (resp.json["uses_allowed"], resp.json["expiry_time"]) == (7, None)
    resp = server.request("PUT", f"{TOKENS}/abcd", {}, token=admin)
    assert (resp.code, resp.json["uses_allowed"]) == (200, 7)

    resp = server.request("DELETE", f"{TOKENS}/abcd", token=admin)
    assert (resp.code, resp.json) == (200, {})
    assert server.request("GET", f"{TOKENS}/abcd", token=admin).code == 404


def test_token_unknown(server: TestServer) -> None:
    admin = admin_token(server)
    for method, body in (("GET", None), ("PUT", {"uses_allowed": 1}), ("DELETE", None)):
        resp = server.request(method, f"{TOKENS}/nope", body, token=admin)
        assert (resp.code, resp.json["errcode"]) == (404, "M_NOT_FOUND"), method


def test_token_bad_params(server: TestServer) -> None:
    admin = admin_token(server)
    server.request("POST", f"{TOKENS}/new", {"token": "taken"}, token=admin)
    server.advance(1000)
    for body in (
        {"token": "taken"},
        {"token": "has space"},
        {"token": "x" * 65},
        {"token": ""},
        {"token": 5},
        {"uses_allowed": -1},
        {"uses_allowed": "3"},
        {"uses_allowed": 1.5},
        {"uses_allowed": True},
        {"expiry_time": 5},
        {"expiry_time": "tomorrow"},
        {"length": 0},
        {"length": 65},
        {"length": "8"},
    ):
        resp = server.request("POST", f"{TOKENS}/new", body, token=admin)
        assert (resp.code, resp.json["errcode"]) == (400, "M_INVALID_PARAM"), body
    for body in ({"uses_allowed": -1}, {"expiry_time": "x"}, {"expiry_time": 5}):
        resp = server.request("PUT", f"{TOKENS}/taken", body, token=admin)
        assert (resp.code, resp.json["errcode"]) == (400, "M_INVALID_PARAM"), body
    resp = server.request("GET", f"{TOKENS}?valid=maybe", token=admin)
    assert (resp.code, resp.json["errcode"]) == (400, "M_INVALID_PARAM")
    assert (
        len(server.request("GET", TOKENS, token=admin).json["registration_tokens"]) == 1
    )


def test_token_valid_filter(server: TestServer) -> None:
    admin = admin_token(server)
    for body in (
        {"token": "forever"},
        {"token": "soon", "expiry_time": 5000},
        {"token": "once", "uses_allowed": 0},
    ):
        assert server.request("POST", f"{TOKENS}/new", body, token=admin).code == 200

    def listed(query: str) -> list[str]:
        resp = server.request("GET", f"{TOKENS}{query}", token=admin)
        assert resp.code == 200, resp.json
        return sorted(t["token"] for t in resp.json["registration_tokens"])

    assert listed("") == ["forever", "once", "soon"]
    assert listed("?valid=true") == ["forever", "soon"]
    assert listed("?valid=false") == ["once"]
    server.advance(6)
    assert listed("?valid=true") == ["forever"]
    assert listed("?valid=false") == ["once", "soon"]


def test_token_api_needs_an_admin(server: TestServer) -> None:
    admin = admin_token(server)
    server.request("POST", f"{TOKENS}/new", {"token": "abc"}, token=admin)
    _, user = server.register("alice")
    for method, path, body in (
        ("GET", TOKENS, None),
        ("POST", f"{TOKENS}/new", {}),
        ("GET", f"{TOKENS}/abc", None),
        ("PUT", f"{TOKENS}/abc", {"uses_allowed": 1}),
        ("DELETE", f"{TOKENS}/abc", None),
    ):
        resp = server.request(method, path, body, token=user)
        assert (resp.code, resp.json["errcode"]) == (403, "M_FORBIDDEN"), (method, path)
        resp = server.request(method, path, body)
        assert (resp.code, resp.json["errcode"]) == (401, "M_MISSING_TOKEN"), (
            method,
            path,
        )
    assert (
        server.request("GET", f"{TOKENS}/abc", token=admin).json["uses_allowed"] is None
    )
