"""GET/POST /login with passwords, whoami and logout."""

from __future__ import annotations

from typing import Any

from tests.api.helpers import (
    CLIENT,
    LOGIN,
    PASSWORD,
    count_rows,
    login,
    login_token,
    make_user,
    password_auth,
    whoami,
)
from tests.support.server import TestServer


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
    assert me.json == {
        "user_id": "@alice:test",
        "device_id": resp.json["device_id"],
        "is_guest": False,
    }
    device = server.request(
        "GET",
        f"{CLIENT}/devices/{resp.json['device_id']}",
        token=resp.json["access_token"],
    )
    assert device.json["display_name"] == "Laptop"


def test_password_login_with_full_user_id(server: TestServer) -> None:
    make_user(server)
    assert login(server, "@alice:test").json["user_id"] == "@alice:test"
    assert login(server, "@ALICE:test").json["user_id"] == "@alice:test"


def test_password_login_with_legacy_user(server: TestServer) -> None:
    make_user(server)
    resp = server.request(
        "POST",
        LOGIN,
        {"type": "m.login.password", "user": "alice", "password": PASSWORD},
    )
    assert resp.code == 200
    assert resp.json["user_id"] == "@alice:test"


def test_wrong_password_and_unknown_user(server: TestServer) -> None:
    make_user(server)
    for user, password in (
        ("alice", "wrongpassword"),
        ("nobody", PASSWORD),
        ("@alice:elsewhere", PASSWORD),
    ):
        resp = login(server, user, password)
        assert resp.code == 403, user
        assert resp.json["errcode"] == "M_FORBIDDEN"
    assert count_rows(server, "devices") == 0


def test_unknown_login_type(server: TestServer) -> None:
    resp = server.request("POST", LOGIN, {"type": "m.login.magic"})
    assert resp.code == 400
    assert resp.json["errcode"] == "M_UNKNOWN"
    # JWT is unknown unless enabled.
    assert (
        server.request("POST", LOGIN, {"type": "m.login.jwt", "token": "x"}).code == 400
    )


def test_unsupported_identifier_type(server: TestServer) -> None:
    resp = server.request(
        "POST",
        LOGIN,
        {
            "type": "m.login.password",
            "password": PASSWORD,
            # Phone logins are not supported (m.id.thirdparty with email is:
            # tests/threepids/test_login_email.py).
            "identifier": {"type": "m.id.phone", "country": "GB", "phone": "1234"},
        },
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
    second = login(
        server, "alice", device_id="PHONE", initial_device_display_name="Two"
    )
    assert first.json["device_id"] == second.json["device_id"] == "PHONE"
    token = second.json["access_token"]
    assert whoami(server, token).json["device_id"] == "PHONE"
    devices = server.request("GET", f"{CLIENT}/devices", token=token).json["devices"]
    assert [(d["device_id"], d.get("display_name")) for d in devices] == [
        ("PHONE", "One")
    ]
    other = login(server, "alice")
    assert other.json["device_id"] != "PHONE"


def test_empty_device_id_is_refused(server: TestServer) -> None:
    make_user(server)
    resp = login(server, "alice", device_id="")
    assert resp.code == 400
    assert resp.json["errcode"] == "M_INVALID_PARAM"


def test_deactivated_user_cannot_log_in(server: TestServer) -> None:
    make_user(server)
    server.get_success(server.hs.accounts.accounts.deactivate("@alice:test"))
    for password in (PASSWORD, "wrong-password"):
        resp = login(server, "alice", password)
        assert (resp.code, resp.json["errcode"]) == (403, "M_USER_DEACTIVATED")


def test_every_password_login_costs_one_hash_verification(
    server: TestServer, monkeypatch: Any
) -> None:
    """An unknown or deactivated account is checked against a dummy hash, so a
    login takes as long whether or not the account exists (counted, not
    timed)."""
    make_user(server, "alice")
    make_user(server, "gone")
    server.get_success(server.hs.accounts.accounts.deactivate("@gone:test"))
    hasher = server.hs.accounts.accounts.hasher
    checked: list[str] = []
    real = hasher._verify

    def counting(password: str, stored: str) -> bool:
        checked.append(password)
        return bool(real(password, stored))

    monkeypatch.setattr(hasher, "_verify", counting)
    for user, password, code in (
        ("alice", PASSWORD, 200),
        ("alice", "wrong-password", 403),
        ("nobody", "any-password", 403),
        ("gone", "any-password", 403),
    ):
        checked.clear()
        assert login(server, user, password).code == code
        assert checked == [password], user


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
