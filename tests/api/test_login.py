"""GET/POST /login (password, token, JWT), whoami, logout and login rate limits."""

from __future__ import annotations

import time
from typing import Any

import jwt

from tests.api.helpers import (
    CLIENT,
    LOGIN,
    PASSWORD,
    count_rows,
    login,
    login_token,
    password_auth,
    whoami,
)
from tests.harness import TestServer

GET_TOKEN = "/_matrix/client/v1/login/get_token"
JWT_SECRET = "a-jwt-secret-that-is-long-enough-for-hs256"
JWT_SERVER = {
    "auth": {
        "jwt": {
            "enabled": True,
            "secret": JWT_SECRET,
            "issuer": "https://issuer.example",
            "audiences": ["chatly"],
        }
    }
}
TOKEN_LOGIN = {"auth": {"token_login": {"enabled": True, "require_ui_auth": False}}}


def make_user(server: TestServer, localpart: str = "alice") -> str:
    """Create an account without logging in (so no rate-limit bucket is touched)."""
    return str(server.get_success(server.hs.accounts.register(localpart, PASSWORD)))


def test_get_login_flows(server: TestServer) -> None:
    resp = server.request("GET", LOGIN)
    assert resp.code == 200
    types = [flow["type"] for flow in resp.json["flows"]]
    assert "m.login.password" in types
    assert "m.login.jwt" not in types


def test_password_login_with_identifier(server: TestServer) -> None:
    make_user(server)
    resp = login(server, "alice", initial_device_display_name="Laptop")
    assert resp.code == 200, resp.json
    assert resp.json["user_id"] == "@alice:test"
    assert resp.json["access_token"] and resp.json["device_id"]
    assert "refresh_token" not in resp.json
    me = whoami(server, resp.json["access_token"])
    assert me.code == 200
    assert me.json == {"user_id": "@alice:test", "device_id": resp.json["device_id"],
                       "is_guest": False}
    device = server.request(
        "GET", f"{CLIENT}/devices/{resp.json['device_id']}", token=resp.json["access_token"]
    )
    assert device.json["display_name"] == "Laptop"


def test_password_login_with_full_user_id(server: TestServer) -> None:
    make_user(server)
    assert login(server, "@alice:test").json["user_id"] == "@alice:test"
    assert login(server, "@ALICE:test").json["user_id"] == "@alice:test"


def test_password_login_with_legacy_user(server: TestServer) -> None:
    make_user(server)
    resp = server.request(
        "POST", LOGIN, {"type": "m.login.password", "user": "alice", "password": PASSWORD}
    )
    assert resp.code == 200
    assert resp.json["user_id"] == "@alice:test"


def test_wrong_password_and_unknown_user(server: TestServer) -> None:
    make_user(server)
    for user, password in (("alice", "wrongpassword"), ("nobody", PASSWORD),
                           ("@alice:elsewhere", PASSWORD)):
        resp = login(server, user, password)
        assert resp.code == 403, user
        assert resp.json["errcode"] == "M_FORBIDDEN"
    assert count_rows(server, "devices") == 0


def test_unknown_login_type(server: TestServer) -> None:
    resp = server.request("POST", LOGIN, {"type": "m.login.magic"})
    assert resp.code == 400
    assert resp.json["errcode"] == "M_UNKNOWN"
    # JWT is unknown unless enabled.
    assert server.request("POST", LOGIN, {"type": "m.login.jwt", "token": "x"}).code == 400


def test_unsupported_identifier_type(server: TestServer) -> None:
    resp = server.request(
        "POST",
        LOGIN,
        {"type": "m.login.password", "password": PASSWORD,
         "identifier": {"type": "m.id.thirdparty", "medium": "email", "address": "a@b.c"}},
    )
    assert resp.code == 400


def test_malformed_json(server: TestServer) -> None:
    for body in (b"{not json", b"", b"\xff\xfe", b'{"type": NaN}'):
        resp = server.request("POST", LOGIN, body)
        assert resp.code == 400, body
        assert resp.json["errcode"] == "M_NOT_JSON", body


def test_body_not_an_object(server: TestServer) -> None:
    # Valid JSON of the wrong shape: M_BAD_JSON by the spec's definitions of
    # the common error codes (and Synapse's parse_json_object_from_request).
    for body in (b"[1, 2]", b'"password"', b"null", b"42"):
        resp = server.request("POST", LOGIN, body)
        assert resp.code == 400, body
        assert resp.json["errcode"] == "M_BAD_JSON", body


def test_wrong_types(server: TestServer) -> None:
    make_user(server)
    good = password_auth("alice")
    for body in (
        {"type": 5},
        {**good, "password": 12345678},
        {**good, "identifier": "alice"},
        {**good, "identifier": {"type": "m.id.user", "user": 5}},
        {**good, "initial_device_display_name": 5},
        {**good, "refresh_token": "yes"},
        {**good, "device_id": 5},
    ):
        resp = server.request("POST", LOGIN, body)
        assert resp.code == 400, body
        assert resp.json["errcode"] == "M_BAD_JSON", body
    assert count_rows(server, "devices") == 0


def test_device_id_reuse(server: TestServer) -> None:
    make_user(server)
    first = login(server, "alice", device_id="PHONE", initial_device_display_name="One")
    second = login(server, "alice", device_id="PHONE", initial_device_display_name="Two")
    assert first.json["device_id"] == second.json["device_id"] == "PHONE"
    token = second.json["access_token"]
    assert whoami(server, token).json["device_id"] == "PHONE"
    devices = server.request("GET", f"{CLIENT}/devices", token=token).json["devices"]
    assert [(d["device_id"], d.get("display_name")) for d in devices] == [("PHONE", "One")]
    other = login(server, "alice")
    assert other.json["device_id"] != "PHONE"


def test_empty_device_id_is_refused(server: TestServer) -> None:
    make_user(server)
    resp = login(server, "alice", device_id="")
    assert resp.code == 400
    assert resp.json["errcode"] == "M_INVALID_PARAM"


def test_deactivated_user_cannot_log_in(server: TestServer) -> None:
    make_user(server)
    server.get_success(server.hs.accounts.deactivate("@alice:test"))
    resp = login(server, "alice")
    assert resp.code == 403
    assert resp.json["errcode"] in ("M_FORBIDDEN", "M_USER_DEACTIVATED")


def test_logout(server: TestServer) -> None:
    make_user(server)
    token = login_token(server, "alice")
    other = login_token(server, "alice")
    device_id = whoami(server, token).json["device_id"]
    resp = server.request("POST", f"{CLIENT}/logout", {}, token=token)
    assert resp.code == 200
    assert resp.json == {}
    gone = whoami(server, token)
    assert gone.code == 401
    assert gone.json["errcode"] == "M_UNKNOWN_TOKEN"
    assert gone.json["soft_logout"] is False
    resp = server.request("GET", f"{CLIENT}/devices/{device_id}", token=other)
    assert resp.code == 404
    assert whoami(server, other).code == 200


def test_logout_all(server: TestServer) -> None:
    make_user(server)
    make_user(server, "bob")
    tokens = [login_token(server, "alice") for _ in range(3)]
    bob = login_token(server, "bob")
    resp = server.request("POST", f"{CLIENT}/logout/all", None, token=tokens[0])
    assert resp.code == 200
    for token in tokens:
        assert whoami(server, token).json["errcode"] == "M_UNKNOWN_TOKEN"
    assert whoami(server, bob).code == 200
    assert count_rows(server, "devices") == 1


def test_logout_needs_a_token(server: TestServer) -> None:
    resp = server.request("POST", f"{CLIENT}/logout", {})
    assert (resp.code, resp.json["errcode"]) == (401, "M_MISSING_TOKEN")


# m.login.token via /login/get_token.


def test_token_login_disabled_by_default(server: TestServer) -> None:
    _, token = server.register("alice")
    resp = server.request("POST", GET_TOKEN, {}, token=token)
    assert resp.code == 404
    assert resp.json["errcode"] == "M_UNRECOGNIZED"
    caps = server.request("GET", f"{CLIENT}/capabilities", token=token).json
    assert caps["capabilities"]["m.get_login_token"] == {"enabled": False}


def test_token_login(make_server: Any) -> None:
    server = make_server(TOKEN_LOGIN)
    _, token = server.register("alice")
    flows = server.request("GET", LOGIN).json["flows"]
    assert {"type": "m.login.token", "get_login_token": True} in flows
    resp = server.request("POST", GET_TOKEN, {}, token=token)
    assert resp.code == 200, resp.json
    assert resp.json["expires_in_ms"] == 120_000
    login_tok = resp.json["login_token"]

    resp = server.request("POST", LOGIN, {"type": "m.login.token", "token": login_tok})
    assert resp.code == 200, resp.json
    assert resp.json["user_id"] == "@alice:test"
    assert whoami(server, resp.json["access_token"]).code == 200

    again = server.request("POST", LOGIN, {"type": "m.login.token", "token": login_tok})
    assert (again.code, again.json["errcode"]) == (403, "M_FORBIDDEN")


def test_login_token_expires(make_server: Any) -> None:
    server = make_server(TOKEN_LOGIN)
    _, token = server.register("alice")
    login_tok = server.request("POST", GET_TOKEN, {}, token=token).json["login_token"]
    server.advance(121)
    resp = server.request("POST", LOGIN, {"type": "m.login.token", "token": login_tok})
    assert (resp.code, resp.json["errcode"]) == (403, "M_FORBIDDEN")
    resp = server.request("POST", LOGIN, {"type": "m.login.token", "token": "made-up"})
    assert resp.code == 403


def test_bad_login_request_does_not_burn_the_token(make_server: Any) -> None:
    server = make_server(TOKEN_LOGIN)
    _, token = server.register("alice")
    login_tok = server.request("POST", GET_TOKEN, {}, token=token).json["login_token"]
    body = {"type": "m.login.token", "token": login_tok}
    assert server.request("POST", LOGIN, {**body, "device_id": 7}).code == 400
    assert server.request("POST", LOGIN, body).code == 200


def test_get_token_with_ui_auth(make_server: Any) -> None:
    server = make_server({"auth": {"token_login": {"enabled": True}}})
    user_id, token = server.register("alice")
    first = server.request("POST", GET_TOKEN, {}, token=token)
    assert first.code == 401
    assert first.json["flows"] == [{"stages": ["m.login.password"]}]
    session = first.json["session"]
    wrong = server.request(
        "POST", GET_TOKEN,
        {"auth": {**password_auth(user_id, "wrongpassword"), "session": session}}, token=token,
    )
    assert (wrong.code, wrong.json["errcode"]) == (401, "M_FORBIDDEN")
    resp = server.request(
        "POST", GET_TOKEN, {"auth": {**password_auth(user_id), "session": session}}, token=token
    )
    assert resp.code == 200, resp.json
    resp = server.request("POST", LOGIN, {"type": "m.login.token", "token": resp.json["login_token"]})
    assert resp.code == 200


# m.login.jwt.


def jwt_token(secret: str = JWT_SECRET, **claims: Any) -> str:
    payload = {
        "sub": "jwtuser",
        "iss": "https://issuer.example",
        "aud": "chatly",
        "exp": int(time.time()) + 300,
        **claims,
    }
    return jwt.encode({k: v for k, v in payload.items() if v is not None}, secret, "HS256")


def test_jwt_login_creates_the_user(make_server: Any) -> None:
    server = make_server(JWT_SERVER)
    types = [flow["type"] for flow in server.request("GET", LOGIN).json["flows"]]
    assert "m.login.jwt" in types
    resp = server.request("POST", LOGIN, {"type": "m.login.jwt", "token": jwt_token()})
    assert resp.code == 200, resp.json
    assert resp.json["user_id"] == "@jwtuser:test"
    assert server.get_success(server.hs.users.get_user("@jwtuser:test")) is not None
    again = server.request("POST", LOGIN, {"type": "m.login.jwt", "token": jwt_token()})
    assert again.json["user_id"] == "@jwtuser:test"


def test_jwt_login_rejections(make_server: Any) -> None:
    server = make_server(JWT_SERVER)
    for i, token in enumerate((
        jwt_token(secret="not-the-right-secret-but-long-enough-too"),
        jwt_token(exp=int(time.time()) - 60),
        jwt_token(iss="https://evil.example"),
        jwt_token(iss=None),
        jwt_token(aud="someone-else"),
        jwt_token(sub=None),
        "not.a.jwt",
    )):
        resp = server.request("POST", LOGIN, {"type": "m.login.jwt", "token": token})
        assert resp.code == 403, i
        assert resp.json["errcode"] == "M_FORBIDDEN"
    assert count_rows(server, "users") == 0


def test_jwt_login_bad_request_creates_no_user(make_server: Any) -> None:
    server = make_server(JWT_SERVER)
    body = {"type": "m.login.jwt", "token": jwt_token()}
    for extra in ({"initial_device_display_name": 5}, {"refresh_token": "yes"}, {"device_id": ""}):
        assert server.request("POST", LOGIN, {**body, **extra}).code == 400
    assert count_rows(server, "users") == 0


# Rate limiting.


def test_login_rate_limited_per_address(make_server: Any) -> None:
    server = make_server({"rate_limiting": {
        "enabled": True, "login_per_address": {"per_second": 0.5, "burst_count": 2}}})
    make_user(server)
    assert login(server, "alice").code == 200
    assert login(server, "alice", "wrongpassword").code == 403
    resp = login(server, "alice")
    assert resp.code == 429
    assert resp.json["errcode"] == "M_LIMIT_EXCEEDED"
    assert resp.json["retry_after_ms"] > 0
    assert int(resp.header("Retry-After") or 0) >= 1
    # Another address is not limited; time drains the bucket.
    assert server.request("POST", LOGIN, password_auth("alice"), client_ip="10.0.0.2").code == 200
    server.advance(resp.json["retry_after_ms"] / 1000)
    assert login(server, "alice").code == 200


def test_failed_login_attempts_limited_per_account(make_server: Any) -> None:
    server = make_server({"rate_limiting": {
        "enabled": True, "login_failed_attempts": {"per_second": 0.1, "burst_count": 3}}})
    make_user(server)
    make_user(server, "bob")
    for i in range(3):
        resp = server.request(
            "POST", LOGIN, password_auth("alice", "wrongpassword"), client_ip=f"10.0.0.{i}"
        )
        assert resp.code == 403
    # Even the right password, from a new address, is refused for now.
    resp = server.request("POST", LOGIN, password_auth("alice"), client_ip="10.0.1.1")
    assert resp.code == 429
    assert resp.json["errcode"] == "M_LIMIT_EXCEEDED"
    assert resp.header("Retry-After")
    # Other accounts are unaffected, and the limit drains with time.
    assert server.request("POST", LOGIN, password_auth("bob"), client_ip="10.0.1.2").code == 200
    server.advance(11)
    assert server.request("POST", LOGIN, password_auth("alice"), client_ip="10.0.1.3").code == 200


def test_successful_logins_do_not_count_as_failures(make_server: Any) -> None:
    server = make_server({"rate_limiting": {
        "enabled": True, "login_failed_attempts": {"per_second": 0.01, "burst_count": 1},
        "login_per_account": {"per_second": 100, "burst_count": 100},
        "login_per_address": {"per_second": 100, "burst_count": 100}}})
    make_user(server)
    for _ in range(5):
        assert login(server, "alice").code == 200
