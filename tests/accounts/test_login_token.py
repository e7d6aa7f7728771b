"""One-time login tokens (/login/get_token, m.login.token) and m.login.jwt."""

from __future__ import annotations

import time
from typing import Any

import jwt

from tests.api.helpers import CLIENT, LOGIN, count_rows, password_auth, whoami
from tests.support.server import TestServer

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
    caps = server.request("GET", f"{CLIENT}/capabilities", token=token).json
    assert caps["capabilities"]["m.get_login_token"] == {"enabled": True}
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
        "POST",
        GET_TOKEN,
        {"auth": {**password_auth(user_id, "wrongpassword"), "session": session}},
        token=token,
    )
    assert (wrong.code, wrong.json["errcode"]) == (401, "M_FORBIDDEN")
    resp = server.request(
        "POST",
        GET_TOKEN,
        {"auth": {**password_auth(user_id), "session": session}},
        token=token,
    )
    assert resp.code == 200, resp.json
    resp = server.request(
        "POST", LOGIN, {"type": "m.login.token", "token": resp.json["login_token"]}
    )
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
    return jwt.encode(
        {k: v for k, v in payload.items() if v is not None}, secret, "HS256"
    )


def test_jwt_login_creates_the_user(make_server: Any) -> None:
    server = make_server(JWT_SERVER)
    types = [flow["type"] for flow in server.request("GET", LOGIN).json["flows"]]
    assert "m.login.jwt" in types
    resp = server.request("POST", LOGIN, {"type": "m.login.jwt", "token": jwt_token()})
    assert resp.code == 200, resp.json
    assert resp.json["user_id"] == "@jwtuser:test"
    assert (
        server.get_success(server.hs.accounts.stores.users.get_user("@jwtuser:test"))
        is not None
    )
    again = server.request("POST", LOGIN, {"type": "m.login.jwt", "token": jwt_token()})
    assert again.json["user_id"] == "@jwtuser:test"


def test_jwt_login_of_a_deactivated_user(make_server: Any) -> None:
    server = make_server(JWT_SERVER)
    assert (
        server.request(
            "POST", LOGIN, {"type": "m.login.jwt", "token": jwt_token()}
        ).code
        == 200
    )
    server.get_success(server.hs.accounts.accounts.deactivate("@jwtuser:test"))
    resp = server.request("POST", LOGIN, {"type": "m.login.jwt", "token": jwt_token()})
    assert (resp.code, resp.json["errcode"]) == (403, "M_USER_DEACTIVATED")


def test_jwt_login_rejections(make_server: Any) -> None:
    server = make_server(JWT_SERVER)
    for i, token in enumerate(
        (
            jwt_token(secret="not-the-right-secret-but-long-enough-too"),
            jwt_token(exp=int(time.time()) - 60),
            jwt_token(iss="https://evil.example"),
            jwt_token(iss=None),
            jwt_token(aud="someone-else"),
            jwt_token(sub=None),
            "not.a.jwt",
        )
    ):
        resp = server.request("POST", LOGIN, {"type": "m.login.jwt", "token": token})
        assert resp.code == 403, i
        assert resp.json["errcode"] == "M_FORBIDDEN"
    assert count_rows(server, "users") == 0


def test_jwt_login_bad_request_creates_no_user(make_server: Any) -> None:
    server = make_server(JWT_SERVER)
    body = {"type": "m.login.jwt", "token": jwt_token()}
    for extra in (
        {"initial_device_display_name": 5},
        {"refresh_token": "yes"},
        {"device_id": ""},
    ):
        assert server.request("POST", LOGIN, {**body, **extra}).code == 400
    assert count_rows(server, "users") == 0
