"""Password change, deactivation and profiles."""

from __future__ import annotations

from tests.api.helpers import (
    CLIENT,
    PASSWORD,
    REGISTER,
    login,
    login_token,
    password_auth,
    uia_request,
    whoami,
)
from tests.support.server import TestServer

PASSWORD_PATH = f"{CLIENT}/account/password"
DEACTIVATE = f"{CLIENT}/account/deactivate"
PROFILE = f"{CLIENT}/profile"
NEW_PASSWORD = "brand-new-password"


def test_change_password(server: TestServer) -> None:
    user_id, token = server.register("alice")
    other = login_token(server, "alice")
    first = server.request(
        "POST", PASSWORD_PATH, {"new_password": NEW_PASSWORD}, token=token
    )
    assert first.code == 401
    assert first.json["flows"] == [{"stages": ["m.login.password"]}]
    resp = server.request(
        "POST",
        PASSWORD_PATH,
        {
            "new_password": NEW_PASSWORD,
            "auth": {**password_auth(user_id), "session": first.json["session"]},
        },
        token=token,
    )
    assert resp.code == 200, resp.json
    assert resp.json == {}
    assert whoami(server, token).code == 200
    gone = whoami(server, other)
    assert (gone.code, gone.json["errcode"]) == (401, "M_UNKNOWN_TOKEN")
    assert (
        len(server.request("GET", f"{CLIENT}/devices", token=token).json["devices"])
        == 1
    )
    assert login(server, "alice", PASSWORD).code == 403
    assert login(server, "alice", NEW_PASSWORD).code == 200


def test_change_password_keeping_other_devices(server: TestServer) -> None:
    user_id, token = server.register("alice")
    other = login_token(server, "alice")
    resp = uia_request(
        server,
        "POST",
        PASSWORD_PATH,
        {"new_password": NEW_PASSWORD, "logout_devices": False},
        token,
        password_auth(user_id),
    )
    assert resp.code == 200, resp.json
    assert whoami(server, other).code == 200
    assert login(server, "alice", NEW_PASSWORD).code == 200


def test_change_password_wrong_old_password(server: TestServer) -> None:
    user_id, token = server.register("alice")
    resp = uia_request(
        server,
        "POST",
        PASSWORD_PATH,
        {"new_password": NEW_PASSWORD},
        token,
        password_auth(user_id, "not-my-password"),
    )
    assert (resp.code, resp.json["errcode"]) == (401, "M_FORBIDDEN")
    assert login(server, "alice", PASSWORD).code == 200


def test_change_password_bad_input(server: TestServer) -> None:
    _, token = server.register("alice")
    resp = server.request("POST", PASSWORD_PATH, {"new_password": "short"}, token=token)
    assert (resp.code, resp.json["errcode"]) == (400, "M_WEAK_PASSWORD")
    for body in (
        {"new_password": 12345678},
        {"new_password": NEW_PASSWORD, "logout_devices": 1},
    ):
        resp = server.request("POST", PASSWORD_PATH, body, token=token)
        assert (resp.code, resp.json["errcode"]) == (400, "M_BAD_JSON"), body
    resp = server.request("POST", PASSWORD_PATH, {"new_password": NEW_PASSWORD})
    assert (resp.code, resp.json["errcode"]) == (401, "M_MISSING_TOKEN")


def test_deactivate(server: TestServer) -> None:
    user_id, token = server.register("alice")
    other = login_token(server, "alice")
    first = server.request("POST", DEACTIVATE, {}, token=token)
    assert first.code == 401
    assert first.json["flows"] == [{"stages": ["m.login.password"]}]
    assert whoami(server, token).code == 200

    resp = server.request(
        "POST",
        DEACTIVATE,
        {"auth": {**password_auth(user_id), "session": first.json["session"]}},
        token=token,
    )
    assert resp.code == 200, resp.json
    assert resp.json["id_server_unbind_result"] == "success"
    for dead in (token, other):
        resp = whoami(server, dead)
        assert (resp.code, resp.json["errcode"]) == (401, "M_UNKNOWN_TOKEN")
    assert login(server, "alice").code == 403
    resp = server.request("POST", REGISTER, {"username": "alice", "password": PASSWORD})
    assert (resp.code, resp.json["errcode"]) == (400, "M_USER_IN_USE")


def test_deactivate_wrong_password(server: TestServer) -> None:
    user_id, token = server.register("alice")
    resp = uia_request(
        server, "POST", DEACTIVATE, {}, token, password_auth(user_id, "nope-nope")
    )
    assert (resp.code, resp.json["errcode"]) == (401, "M_FORBIDDEN")
    assert whoami(server, token).code == 200


def test_deactivate_empty_body_and_bad_erase(server: TestServer) -> None:
    _, token = server.register("alice")
    assert server.request("POST", DEACTIVATE, None, token=token).code == 401
    resp = server.request("POST", DEACTIVATE, {"erase": "yes"}, token=token)
    assert (resp.code, resp.json["errcode"]) == (400, "M_BAD_JSON")


# Profiles.


def test_profile_get_and_set(server: TestServer) -> None:
    user_id, token = server.register("alice")
    resp = server.request("GET", f"{PROFILE}/{user_id}")
    assert resp.code == 200
    assert resp.json == {"displayname": "alice"}

    resp = server.request(
        "PUT",
        f"{PROFILE}/{user_id}/displayname",
        {"displayname": "Alice A."},
        token=token,
    )
    assert (resp.code, resp.json) == (200, {})
    resp = server.request(
        "PUT",
        f"{PROFILE}/{user_id}/avatar_url",
        {"avatar_url": "mxc://test/abc"},
        token=token,
    )
    assert resp.code == 200
    assert server.request("GET", f"{PROFILE}/{user_id}").json == {
        "displayname": "Alice A.",
        "avatar_url": "mxc://test/abc",
    }
    resp = server.request("GET", f"{PROFILE}/{user_id}/displayname")
    assert resp.json == {"displayname": "Alice A."}
    resp = server.request("GET", f"{PROFILE}/{user_id}/avatar_url")
    assert resp.json == {"avatar_url": "mxc://test/abc"}
    # The URL-encoded form of the user ID works too.
    assert server.request("GET", f"{PROFILE}/%40alice%3Atest/displayname").code == 200


def test_profile_of_another_user_is_read_only(server: TestServer) -> None:
    alice, _ = server.register("alice")
    _, bob = server.register("bob")
    assert server.request("GET", f"{PROFILE}/{alice}").code == 200
    for key in ("displayname", "com.example.x"):
        resp = server.request(
            "PUT", f"{PROFILE}/{alice}/{key}", {key: "Mallory"}, token=bob
        )
        assert (resp.code, resp.json["errcode"]) == (403, "M_FORBIDDEN")
        resp = server.request("DELETE", f"{PROFILE}/{alice}/{key}", token=bob)
        assert (resp.code, resp.json["errcode"]) == (403, "M_FORBIDDEN")
    assert server.request("GET", f"{PROFILE}/{alice}").json == {"displayname": "alice"}


def test_profile_not_found(server: TestServer) -> None:
    user_id, _ = server.register("alice")
    resp = server.request("GET", f"{PROFILE}/@nobody:test")
    assert (resp.code, resp.json["errcode"]) == (404, "M_NOT_FOUND")
    resp = server.request("GET", f"{PROFILE}/@nobody:test/displayname")
    assert (resp.code, resp.json["errcode"]) == (404, "M_NOT_FOUND")
    # Unset displayname/avatar_url of an existing user: 200 {}, as Synapse
    # answers (tests/interop/test_profiles.py); an unset custom field is 404.
    resp = server.request("GET", f"{PROFILE}/{user_id}/avatar_url")
    assert (resp.code, resp.json) == (200, {})
    token = server.login("alice").token
    resp = server.request("DELETE", f"{PROFILE}/{user_id}/displayname", token=token)
    assert resp.code == 200
    resp = server.request("GET", f"{PROFILE}/{user_id}/displayname")
    assert (resp.code, resp.json) == (200, {})
    resp = server.request("GET", f"{PROFILE}/{user_id}/m.custom")
    assert (resp.code, resp.json["errcode"]) == (404, "M_NOT_FOUND")
    resp = server.request("GET", f"{PROFILE}/not-a-user-id")
    assert resp.code == 400


def test_profile_bad_input(server: TestServer) -> None:
    user_id, token = server.register("alice")
    for key, body in (
        ("displayname", {"displayname": 5}),
        ("displayname", {"displayname": "x" * 300}),
        ("avatar_url", {"avatar_url": ["mxc://x/y"]}),
    ):
        resp = server.request("PUT", f"{PROFILE}/{user_id}/{key}", body, token=token)
        assert (resp.code, resp.json["errcode"]) == (400, "M_BAD_JSON"), body
    resp = server.request(
        "PUT", f"{PROFILE}/{user_id}/displayname", {"avatar_url": "x"}, token=token
    )
    assert (resp.code, resp.json["errcode"]) == (400, "M_MISSING_PARAM")
    resp = server.request("PUT", f"{PROFILE}/{user_id}/displayname", b"{", token=token)
    assert (resp.code, resp.json["errcode"]) == (400, "M_NOT_JSON")
    resp = server.request(
        "PUT", f"{PROFILE}/{user_id}/displayname", {"displayname": "x"}
    )
    assert (resp.code, resp.json["errcode"]) == (401, "M_MISSING_TOKEN")
    assert server.request("GET", f"{PROFILE}/{user_id}").json == {
        "displayname": "alice"
    }


def test_profile_key_rules(server: TestServer) -> None:
    user_id, token = server.register("alice")
    long_key = "com.example." + "k" * 250
    resp = server.request(
        "PUT", f"{PROFILE}/{user_id}/{long_key}", {long_key: 1}, token=token
    )
    assert (resp.code, resp.json["errcode"]) == (400, "M_KEY_TOO_LARGE")
    resp = server.request(
        "PUT", f"{PROFILE}/{user_id}/Not%20Valid", {"Not Valid": 1}, token=token
    )
    assert (resp.code, resp.json["errcode"]) == (400, "M_INVALID_PARAM")
    big = "x" * 70_000
    resp = server.request(
        "PUT",
        f"{PROFILE}/{user_id}/com.example.big",
        {"com.example.big": big},
        token=token,
    )
    assert (resp.code, resp.json["errcode"]) == (400, "M_PROFILE_TOO_LARGE")
    assert server.request("GET", f"{PROFILE}/{user_id}").json == {
        "displayname": "alice"
    }


def test_custom_profile_fields(server: TestServer) -> None:
    user_id, token = server.register("alice")
    value = {"colour": "blue", "shades": [1, 2]}
    path = f"{PROFILE}/{user_id}/com.example.theme"
    resp = server.request("PUT", path, {"com.example.theme": value}, token=token)
    assert resp.code == 200, resp.json
    assert server.request("GET", path).json == {"com.example.theme": value}
    resp = server.request(
        "PUT", f"{PROFILE}/{user_id}/m.tz", {"m.tz": "Europe/Paris"}, token=token
    )
    assert resp.code == 200
    assert server.request("GET", f"{PROFILE}/{user_id}").json == {
        "displayname": "alice",
        "com.example.theme": value,
        "m.tz": "Europe/Paris",
    }
    # Overwrite, then delete.
    server.request("PUT", path, {"com.example.theme": "plain"}, token=token)
    assert server.request("GET", path).json == {"com.example.theme": "plain"}
    resp = server.request("DELETE", path, token=token)
    assert (resp.code, resp.json) == (200, {})
    assert server.request("GET", path).code == 404
    assert server.request("DELETE", path, token=token).code == 200
    resp = server.request("DELETE", f"{PROFILE}/{user_id}/displayname", token=token)
    assert resp.code == 200
    assert server.request("GET", f"{PROFILE}/{user_id}").json == {
        "m.tz": "Europe/Paris"
    }


def test_deactivation_clears_profile(server: TestServer) -> None:
    user_id, token = server.register("alice")
    server.request("PUT", f"{PROFILE}/{user_id}/m.tz", {"m.tz": "UTC"}, token=token)
    resp = uia_request(server, "POST", DEACTIVATE, {}, token, password_auth(user_id))
    assert resp.code == 200
    resp = server.request("GET", f"{PROFILE}/{user_id}")
    assert resp.code in (200, 404)
    if resp.code == 200:
        assert resp.json == {}


def test_password_change_session_stores_no_plaintext(server: TestServer) -> None:
    _, token = server.register("alice")
    first = server.request(
        "POST", PASSWORD_PATH, {"new_password": NEW_PASSWORD}, token=token
    )
    assert first.code == 401
    rows = server.get_success(
        server.db.run_interaction(
            "test_sessions",
            lambda txn: txn.query(
                "SELECT clientdict, serverdict FROM ui_auth_sessions"
            ),
        )
    )
    assert rows and all(NEW_PASSWORD not in "".join(row) for row in rows)
