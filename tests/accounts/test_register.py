"""POST /register, /register/available and registration tokens."""

from __future__ import annotations

from typing import Any

from tests.api.helpers import ADMIN, CLIENT, PASSWORD, REGISTER, count_rows, whoami
from tests.support.server import FakeResponse, TestServer

AVAILABLE = f"{CLIENT}/register/available"
VALIDITY = "/_matrix/client/v1/register/m.login.registration_token/validity"
TOKEN_SERVER = {"registration": {"registration_requires_token": True}}


def start(server: TestServer, body: dict[str, Any]) -> str:
    """The first registration round; returns the UIA session."""
    resp = server.request("POST", REGISTER, body)
    assert resp.code == 401, resp.json
    return str(resp.json["session"])


def register(server: TestServer, username: str, **extra: Any) -> FakeResponse:
    """A full m.login.dummy registration."""
    body = {"username": username, "password": PASSWORD, **extra}
    session = start(server, body)
    return server.request(
        "POST",
        REGISTER,
        {**body, "auth": {"type": "m.login.dummy", "session": session}},
    )


def test_dummy_flow_registers_and_logs_in(server: TestServer) -> None:
    body = {"username": "alice", "password": PASSWORD}
    first = server.request("POST", REGISTER, body)
    assert first.code == 401
    assert first.json["flows"] == [{"stages": ["m.login.dummy"]}]
    assert first.json["params"] == {}
    assert isinstance(first.json["session"], str) and first.json["session"]
    assert "completed" not in first.json

    auth = {"type": "m.login.dummy", "session": first.json["session"]}
    resp = server.request("POST", REGISTER, {**body, "auth": auth})
    assert resp.code == 200, resp.json
    assert resp.json["user_id"] == "@alice:test"
    assert resp.json["access_token"] and resp.json["device_id"]
    assert "refresh_token" not in resp.json and "expires_in_ms" not in resp.json
    me = whoami(server, resp.json["access_token"])
    assert me.json["user_id"] == "@alice:test"
    assert me.json["device_id"] == resp.json["device_id"]


def test_client_chosen_device_id(server: TestServer) -> None:
    resp = register(server, "alice", device_id="MYPHONE")
    assert resp.code == 200
    assert resp.json["device_id"] == "MYPHONE"


def test_uia_session_keeps_the_first_requests_parameters(server: TestServer) -> None:
    session = start(
        server,
        {
            "username": "alice",
            "password": PASSWORD,
            "initial_device_display_name": "Phone",
        },
    )
    resp = server.request(
        "POST", REGISTER, {"auth": {"type": "m.login.dummy", "session": session}}
    )
    assert resp.code == 200, resp.json
    assert resp.json["user_id"] == "@alice:test"
    devices = server.request(
        "GET", f"{CLIENT}/devices", token=resp.json["access_token"]
    )
    assert [d.get("display_name") for d in devices.json["devices"]] == ["Phone"]


def test_session_cannot_be_reused_after_success(server: TestServer) -> None:
    session = start(server, {"username": "alice", "password": PASSWORD})
    auth = {"auth": {"type": "m.login.dummy", "session": session}}
    assert server.request("POST", REGISTER, auth).code == 200
    again = server.request(
        "POST", REGISTER, {"username": "bob", "password": PASSWORD, **auth}
    )
    assert again.code == 400
    assert (
        server.get_success(server.hs.accounts.stores.users.get_user("@bob:test"))
        is None
    )


def test_repeating_a_completed_registration_is_idempotent(server: TestServer) -> None:
    """The same request again with the same (completed) UIA session gives
    the same account, as Synapse does, and registers nothing new."""
    body = {"username": "alice", "password": PASSWORD}
    session = start(server, body)
    request = {**body, "auth": {"type": "m.login.dummy", "session": session}}
    first = server.request("POST", REGISTER, request)
    assert first.code == 200, first.json
    again = server.request("POST", REGISTER, request)
    assert again.code == 200, again.json
    assert again.json["user_id"] == first.json["user_id"] == "@alice:test"
    assert whoami(server, again.json["access_token"]).json["user_id"] == "@alice:test"
    assert count_rows(server, "users") == 1


def test_repeating_a_registration_without_username_is_idempotent(
    server: TestServer,
) -> None:
    session = start(server, {"password": PASSWORD, "inhibit_login": True})
    request = {
        "password": PASSWORD,
        "inhibit_login": True,
        "auth": {"type": "m.login.dummy", "session": session},
    }
    first = server.request("POST", REGISTER, request)
    assert first.code == 200, first.json
    again = server.request("POST", REGISTER, request)
    assert again.code == 200, again.json
    assert again.json == first.json
    assert count_rows(server, "users") == 1


def test_registration_disabled(make_server: Any) -> None:
    server = make_server({"registration": {"enable_registration": False}})
    resp = server.request("POST", REGISTER, {"username": "alice", "password": PASSWORD})
    assert resp.code == 403
    assert resp.json["errcode"] == "M_FORBIDDEN"
    assert server.request("GET", f"{AVAILABLE}?username=alice").code == 403
    assert count_rows(server, "users") == 0


def test_invalid_usernames(server: TestServer) -> None:
    for username in ("al ice", "al:ice", "ålice", "a" * 300, "", "alice\n", "a\nb"):
        resp = server.request(
            "POST", REGISTER, {"username": username, "password": PASSWORD}
        )
        assert resp.code == 400, username
        assert resp.json["errcode"] == "M_INVALID_USERNAME", username


def test_wrong_types(server: TestServer) -> None:
    for body in (
        {"username": 5, "password": PASSWORD},
        {"username": "alice", "password": ["x"]},
        {"username": "alice", "password": PASSWORD, "inhibit_login": "yes"},
        {"username": "alice", "password": PASSWORD, "refresh_token": 1},
        {"username": "alice", "password": PASSWORD, "initial_device_display_name": 5},
        {"username": "alice", "password": PASSWORD, "auth": "dummy"},
    ):
        resp = server.request("POST", REGISTER, body)
        assert resp.code == 400, body
        assert resp.json["errcode"] == "M_BAD_JSON", body
    assert server.request("POST", REGISTER, b"{nope").json["errcode"] == "M_NOT_JSON"


def test_username_taken(server: TestServer) -> None:
    server.register("bob")
    resp = server.request("POST", REGISTER, {"username": "bob", "password": PASSWORD})
    assert resp.code == 400
    assert resp.json["errcode"] == "M_USER_IN_USE"


def test_username_taken_during_uia(server: TestServer) -> None:
    session = start(server, {"username": "carol", "password": PASSWORD})
    server.register("carol", password="otherpassword")
    resp = server.request(
        "POST", REGISTER, {"auth": {"type": "m.login.dummy", "session": session}}
    )
    assert resp.code == 400
    assert resp.json["errcode"] == "M_USER_IN_USE"
    assert count_rows(server, "users") == 1


def test_weak_password(server: TestServer) -> None:
    resp = server.request("POST", REGISTER, {"username": "alice", "password": "short"})
    assert resp.code == 400
    assert resp.json["errcode"] == "M_WEAK_PASSWORD"


def test_failed_registration_leaves_nothing_behind(server: TestServer) -> None:
    for body in (
        {"username": "alice", "password": "short"},
        {"username": "al ice", "password": PASSWORD},
        {"username": "alice", "password": PASSWORD, "device_id": ""},
    ):
        assert server.request("POST", REGISTER, body).code == 400
    for table in ("users", "profiles", "devices", "access_tokens", "ui_auth_sessions"):
        assert count_rows(server, table) == 0, table


def test_missing_password_after_uia_creates_no_user(server: TestServer) -> None:
    session = start(server, {"username": "alice"})
    resp = server.request(
        "POST", REGISTER, {"auth": {"type": "m.login.dummy", "session": session}}
    )
    assert resp.code == 400
    assert resp.json["errcode"] == "M_MISSING_PARAM"
    assert count_rows(server, "users") == 0


def test_generated_username(server: TestServer) -> None:
    session = start(server, {"password": PASSWORD})
    resp = server.request(
        "POST", REGISTER, {"auth": {"type": "m.login.dummy", "session": session}}
    )
    assert resp.code == 200
    assert resp.json["user_id"].startswith("@") and resp.json["user_id"].endswith(
        ":test"
    )


def test_inhibit_login(server: TestServer) -> None:
    resp = register(server, "alice", inhibit_login=True)
    assert resp.code == 200
    assert resp.json["user_id"] == "@alice:test"
    assert "access_token" not in resp.json and "device_id" not in resp.json
    assert count_rows(server, "devices") == 0
    assert count_rows(server, "access_tokens") == 0


def test_refresh_token_requested(server: TestServer) -> None:
    resp = register(server, "alice", refresh_token=True)
    assert resp.code == 200
    assert resp.json["refresh_token"]
    assert resp.json["expires_in_ms"] == 300_000


def test_guest_registration_is_refused(server: TestServer) -> None:
    resp = server.request("POST", f"{REGISTER}?kind=guest", {})
    assert resp.code == 403
    assert resp.json["errcode"] == "M_GUEST_ACCESS_FORBIDDEN"
    assert server.request("POST", f"{REGISTER}?kind=robot", {}).code == 400


def test_unknown_stage_type(server: TestServer) -> None:
    session = start(server, {"username": "alice", "password": PASSWORD})
    resp = server.request(
        "POST", REGISTER, {"auth": {"type": "m.login.password", "session": session}}
    )
    assert resp.code == 400
    assert count_rows(server, "users") == 0


def test_unknown_session(server: TestServer) -> None:
    resp = server.request(
        "POST",
        REGISTER,
        {
            "username": "alice",
            "password": PASSWORD,
            "auth": {"type": "m.login.dummy", "session": "nope"},
        },
    )
    assert resp.code == 400
    assert count_rows(server, "users") == 0


def test_uia_session_expires(server: TestServer) -> None:
    session = start(server, {"username": "alice", "password": PASSWORD})
    server.advance(16 * 60)
    resp = server.request(
        "POST", REGISTER, {"auth": {"type": "m.login.dummy", "session": session}}
    )
    assert resp.code == 400
    assert count_rows(server, "users") == 0


def test_username_available(server: TestServer) -> None:
    resp = server.request("GET", f"{AVAILABLE}?username=newbie")
    assert resp.code == 200
    assert resp.json == {"available": True}
    server.register("taken")
    resp = server.request("GET", f"{AVAILABLE}?username=taken")
    assert (resp.code, resp.json["errcode"]) == (400, "M_USER_IN_USE")
    resp = server.request("GET", f"{AVAILABLE}?username=Not%20Valid")
    assert (resp.code, resp.json["errcode"]) == (400, "M_INVALID_USERNAME")
    resp = server.request("GET", AVAILABLE)
    assert (resp.code, resp.json["errcode"]) == (400, "M_MISSING_PARAM")


def test_rate_limit_counts_registrations_not_uia_rounds(make_server: Any) -> None:
    # The default limit (burst 3) must not refuse the 4th request of one
    # client's ordinary sign-up: availability check, flows, UIA, completion.
    server = make_server({"rate_limiting": {"enabled": True}})
    for name in ("alice", "bob", "carol"):
        assert server.request("GET", f"{AVAILABLE}?username={name}").code == 200
        assert server.request("POST", REGISTER, {}).code == 401
        assert register(server, name).code == 200, name
    resp = server.request("POST", REGISTER, {"username": "dave", "password": PASSWORD})
    assert resp.code == 429
    assert resp.json["errcode"] == "M_LIMIT_EXCEEDED"
    assert resp.json["retry_after_ms"] > 0
    assert resp.header("Retry-After")
    assert (
        server.request(
            "POST",
            REGISTER,
            {"username": "dave", "password": PASSWORD},
            client_ip="10.0.0.9",
        ).code
        == 401
    )


# Registration tokens (m.login.registration_token).


def make_token(server: TestServer, admin_token: str, **body: Any) -> str:
    resp = server.request(
        "POST", f"{ADMIN}/registration_tokens/new", body, token=admin_token
    )
    assert resp.code == 200, resp.json
    return str(resp.json["token"])


def token_info(server: TestServer, admin_token: str, token: str) -> dict[str, Any]:
    resp = server.request(
        "GET", f"{ADMIN}/registration_tokens/{token}", token=admin_token
    )
    assert resp.code == 200, resp.json
    return dict(resp.json)


def token_auth(session: str, token: str) -> dict[str, Any]:
    return {
        "auth": {
            "type": "m.login.registration_token",
            "token": token,
            "session": session,
        }
    }


def test_token_required_flow(make_server: Any) -> None:
    server = make_server(TOKEN_SERVER)
    _, admin = server.register("admin", admin=True)
    token = make_token(server, admin)
    body = {"username": "alice", "password": PASSWORD}
    first = server.request("POST", REGISTER, body)
    assert first.code == 401
    assert first.json["flows"] == [{"stages": ["m.login.registration_token"]}]
    session = first.json["session"]

    dummy = server.request(
        "POST", REGISTER, {"auth": {"type": "m.login.dummy", "session": session}}
    )
    assert dummy.code == 400

    bad = server.request("POST", REGISTER, token_auth(session, "wrongtoken"))
    assert bad.code == 401
    assert bad.json["errcode"] == "M_UNAUTHORIZED"
    assert bad.json["session"] == session
    assert bad.json["completed"] == []  # as Synapse, after an attempt
    assert (
        server.get_success(server.hs.accounts.stores.users.get_user("@alice:test"))
        is None
    )

    good = server.request("POST", REGISTER, token_auth(session, token))
    assert good.code == 200, good.json
    assert good.json["user_id"] == "@alice:test"
    info = token_info(server, admin, token)
    assert (info["pending"], info["completed"]) == (0, 1)


def test_token_uses_allowed_is_enforced(make_server: Any) -> None:
    server = make_server(TOKEN_SERVER)
    _, admin = server.register("admin", admin=True)
    token = make_token(server, admin, uses_allowed=1)
    assert server.request("GET", f"{VALIDITY}?token={token}").json == {"valid": True}

    # The stage passes but the request then fails: the use stays pending.
    session = start(server, {"username": "alice"})
    resp = server.request("POST", REGISTER, token_auth(session, token))
    assert resp.json["errcode"] == "M_MISSING_PARAM"
    info = token_info(server, admin, token)
    assert (info["uses_allowed"], info["pending"], info["completed"]) == (1, 1, 0)
    assert server.request("GET", f"{VALIDITY}?token={token}").json == {"valid": False}

    # Nobody else can use it meanwhile.
    other = start(server, {"username": "bob", "password": PASSWORD})
    resp = server.request("POST", REGISTER, token_auth(other, token))
    assert (resp.code, resp.json["errcode"]) == (401, "M_UNAUTHORIZED")

    # The first session finishes with its reserved use.
    resp = server.request(
        "POST", REGISTER, {"password": PASSWORD, **token_auth(session, token)}
    )
    assert resp.code == 200, resp.json
    info = token_info(server, admin, token)
    assert (info["pending"], info["completed"]) == (0, 1)
    resp = server.request("POST", REGISTER, token_auth(other, token))
    assert resp.code == 401
    assert (
        server.get_success(server.hs.accounts.stores.users.get_user("@bob:test"))
        is None
    )


def test_expired_uia_session_gives_its_token_use_back(make_server: Any) -> None:
    server = make_server(TOKEN_SERVER)
    _, admin = server.register("admin", admin=True)
    token = make_token(server, admin, uses_allowed=1)
    session = start(server, {"username": "alice"})
    server.request("POST", REGISTER, token_auth(session, token))
    assert token_info(server, admin, token)["pending"] == 1
    server.advance(16 * 60)
    start(server, {"username": "bob", "password": PASSWORD})  # sweeps expired sessions
    assert token_info(server, admin, token)["pending"] == 0
    assert server.request("GET", f"{VALIDITY}?token={token}").json == {"valid": True}


def test_token_validity_endpoint(make_server: Any) -> None:
    server = make_server(TOKEN_SERVER)
    _, admin = server.register("admin", admin=True)
    token = make_token(server, admin, expiry_time=60_000)
    assert server.request("GET", f"{VALIDITY}?token={token}").json == {"valid": True}
    assert server.request("GET", f"{VALIDITY}?token=unknown").json == {"valid": False}
    server.advance(61)
    assert server.request("GET", f"{VALIDITY}?token={token}").json == {"valid": False}
    resp = server.request("GET", VALIDITY)
    assert (resp.code, resp.json["errcode"]) == (400, "M_MISSING_PARAM")
    assert (
        server.request(
            "GET",
            f"/_matrix/client/v3/register/m.login.registration_token/validity?token={token}",
        ).code
        == 404
    )


def test_token_validity_when_registration_disabled(make_server: Any) -> None:
    server = make_server({"registration": {"enable_registration": False}})
    resp = server.request("GET", f"{VALIDITY}?token=abc")
    assert (resp.code, resp.json["errcode"]) == (403, "M_FORBIDDEN")


def test_uia_sessions_do_not_store_plaintext_passwords(server: TestServer) -> None:
    secret = "correct-horse-battery-staple"
    session = start(server, {"username": "alice", "password": secret})
    rows = server.get_success(
        server.db.run_interaction(
            "test_sessions",
            lambda txn: txn.query(
                "SELECT clientdict, serverdict FROM ui_auth_sessions"
            ),
        )
    )
    assert rows and all(secret not in "".join(row) for row in rows)
    resp = server.request(
        "POST", REGISTER, {"auth": {"type": "m.login.dummy", "session": session}}
    )
    assert resp.code == 200, resp.json
    assert (
        server.request(
            "POST",
            "/_matrix/client/v3/login",
            {"type": "m.login.password", "user": "alice", "password": secret},
        ).code
        == 200
    )


def test_usernames_are_lowercased(server: TestServer) -> None:
    resp = register(server, "Alice")
    assert resp.code == 200, resp.json
    assert resp.json["user_id"] == "@alice:test"
