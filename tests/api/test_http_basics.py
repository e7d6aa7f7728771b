"""The HTTP layer: routing errors, auth errors, body limits, CORS, discovery, metrics."""

from __future__ import annotations

import logging
from typing import Any

from tests.api.helpers import CLIENT, LOGIN, PASSWORD, REGISTER, WHOAMI, count_rows
from tests.support.server import TestServer


def test_unknown_endpoint(server: TestServer) -> None:
    for path in (f"{CLIENT}/no/such/thing", "/", "/_matrix/client/v9/login"):
        resp = server.request("GET", path)
        assert resp.code == 404, path
        assert resp.json["errcode"] == "M_UNRECOGNIZED"


def test_wrong_method(server: TestServer) -> None:
    for method, path in (
        ("GET", f"{CLIENT}/logout"),
        ("DELETE", LOGIN),
        ("PUT", WHOAMI),
    ):
        resp = server.request(method, path)
        assert resp.code == 405, (method, path)
        assert resp.json["errcode"] == "M_UNRECOGNIZED"


def test_missing_and_bad_tokens(server: TestServer) -> None:
    resp = server.request("GET", WHOAMI)
    assert (resp.code, resp.json["errcode"]) == (401, "M_MISSING_TOKEN")
    resp = server.request("GET", WHOAMI, token="cht_not_a_real_token")
    assert (resp.code, resp.json["errcode"]) == (401, "M_UNKNOWN_TOKEN")
    resp = server.request("GET", WHOAMI, headers={"Authorization": "Basic abc"})
    assert resp.code == 401


def test_access_token_in_query(server: TestServer) -> None:
    user_id, token = server.register("alice")
    resp = server.request("GET", f"{WHOAMI}?access_token={token}")
    assert resp.code == 200
    assert resp.json["user_id"] == user_id
    resp = server.request("GET", f"{WHOAMI}?access_token=wrong")
    assert resp.json["errcode"] == "M_UNKNOWN_TOKEN"


def test_unknown_query_params_are_ignored(server: TestServer) -> None:
    _, token = server.register("alice")
    resp = server.request("GET", f"{WHOAMI}?foo=bar&baz", token=token)
    assert resp.code == 200


def test_unknown_body_keys_are_ignored(server: TestServer) -> None:
    server.get_success(server.hs.accounts.accounts.register("alice", PASSWORD))
    resp = server.request(
        "POST",
        LOGIN,
        {
            "type": "m.login.password",
            "user": "alice",
            "password": PASSWORD,
            "org.example.extra": {"x": 1},
        },
    )
    assert resp.code == 200


def test_body_too_large(make_server: Any) -> None:
    server = make_server({"http": {"max_request_body_size": 1024}})
    resp = server.request(
        "POST", LOGIN, {"type": "m.login.password", "pad": "x" * 2000}
    )
    assert resp.code == 413
    assert resp.json["errcode"] == "M_TOO_LARGE"
    resp = server.request("POST", LOGIN, {"type": "m.login.magic", "pad": "x" * 500})
    assert (resp.code, resp.json["errcode"]) == (400, "M_UNKNOWN")


def test_chunked_body_too_large(make_server: Any) -> None:
    server = make_server({"http": {"max_request_body_size": 1024}})
    chunk = b"x" * 800
    raw = (
        b"POST /_matrix/client/v3/login HTTP/1.1\r\nHost: x\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
        + (b"%x\r\n" % len(chunk) + chunk + b"\r\n") * 2
        + b"0\r\n\r\n"
    )
    resp = server.raw_request(raw)
    assert (resp.code, resp.json["errcode"]) == (413, "M_TOO_LARGE")


def test_access_tokens_are_not_logged(server: TestServer, caplog: Any) -> None:
    _, token = server.register("alice")
    caplog.set_level(logging.DEBUG)
    server.request("GET", f"{WHOAMI}?access_token={token}")
    server.request("GET", WHOAMI, token=token)
    assert caplog.records
    assert token not in caplog.text


def test_cors_headers(server: TestServer) -> None:
    for resp in (
        server.request("GET", "/_matrix/client/versions"),
        server.request("GET", WHOAMI),
        server.request("GET", f"{CLIENT}/nope"),
    ):
        assert resp.header("Access-Control-Allow-Origin") == "*"
        methods = resp.header("Access-Control-Allow-Methods") or ""
        for method in ("GET", "POST", "PUT", "DELETE", "OPTIONS"):
            assert method in methods
        headers = resp.header("Access-Control-Allow-Headers") or ""
        for header in ("X-Requested-With", "Content-Type", "Authorization"):
            assert header in headers


def test_cors_preflight(server: TestServer) -> None:
    resp = server.request(
        "OPTIONS",
        f"{CLIENT}/account/whoami",
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "GET",
        },
    )
    assert resp.code == 200
    assert resp.header("Access-Control-Allow-Origin") == "*"
    assert "Authorization" in (resp.header("Access-Control-Allow-Headers") or "")


def test_cors_allowed_origins(make_server: Any) -> None:
    server = make_server({"http": {"cors_allowed_origins": ["https://app.example"]}})
    resp = server.request(
        "GET", "/_matrix/client/versions", headers={"Origin": "https://app.example"}
    )
    assert resp.header("Access-Control-Allow-Origin") == "https://app.example"
    resp = server.request(
        "GET", "/_matrix/client/versions", headers={"Origin": "https://evil.example"}
    )
    assert resp.header("Access-Control-Allow-Origin") is None


def test_json_responses(server: TestServer) -> None:
    resp = server.request("GET", "/_matrix/client/versions")
    assert resp.header("Content-Type") == "application/json"
    resp = server.request("GET", f"{CLIENT}/nope")
    assert resp.header("Content-Type") == "application/json"


def test_r0_alias(server: TestServer) -> None:
    server.get_success(server.hs.accounts.accounts.register("alice", PASSWORD))
    resp = server.request(
        "POST",
        "/_matrix/client/r0/login",
        {"type": "m.login.password", "user": "alice", "password": PASSWORD},
    )
    assert resp.code == 200
    assert server.request("GET", "/_matrix/client/r0/login").code == 200
    token = resp.json["access_token"]
    assert (
        server.request("GET", "/_matrix/client/r0/account/whoami", token=token).code
        == 200
    )


def test_head_request(server: TestServer) -> None:
    resp = server.request("HEAD", "/_matrix/client/versions")
    assert resp.code == 200
    assert resp.body == b""


def test_capabilities(server: TestServer) -> None:
    assert server.request("GET", f"{CLIENT}/capabilities").code == 401
    _, token = server.register("alice")
    resp = server.request("GET", f"{CLIENT}/capabilities", token=token)
    assert resp.code == 200
    caps = resp.json["capabilities"]
    assert caps["m.change_password"] == {"enabled": True}
    versions = caps["m.room_versions"]
    assert versions["default"] in versions["available"]
    assert set(versions["available"].values()) <= {"stable", "unstable"}
    assert caps["m.set_displayname"] == {"enabled": True}
    assert caps["m.3pid_changes"] == {"enabled": False}


def test_versions(server: TestServer) -> None:
    resp = server.request("GET", "/_matrix/client/versions")
    assert resp.code == 200
    assert "v1.11" in resp.json["versions"]
    assert isinstance(resp.json["unstable_features"], dict)


def test_well_known_unconfigured(server: TestServer) -> None:
    resp = server.request("GET", "/.well-known/matrix/client")
    assert (resp.code, resp.json["errcode"]) == (404, "M_NOT_FOUND")


def test_well_known_configured(make_server: Any) -> None:
    server = make_server({"well_known": {"client_base_url": "https://x.example"}})
    resp = server.request("GET", "/.well-known/matrix/client")
    assert resp.code == 200
    assert resp.json == {"m.homeserver": {"base_url": "https://x.example"}}
    assert resp.header("Access-Control-Allow-Origin") == "*"
    server = make_server(
        {
            "well_known": {
                "client_base_url": "https://x.example",
                "identity_server": "https://id.example",
            }
        }
    )
    resp = server.request("GET", "/.well-known/matrix/client")
    assert resp.json["m.identity_server"] == {"base_url": "https://id.example"}


def test_metrics_disabled_by_default(server: TestServer) -> None:
    for path in ("/metrics", "/_synapse/metrics"):
        assert server.request("GET", path).code == 404


def test_metrics_enabled(make_server: Any) -> None:
    server = make_server({"metrics": {"enabled": True}})
    server.request("GET", "/_matrix/client/versions")
    resp = server.request("GET", "/metrics")
    assert resp.code == 200
    assert (resp.header("Content-Type") or "").startswith("text/plain")
    assert b"homeserver_http_requests_total" in resp.body
    assert b'endpoint="VersionsEndpoint"' in resp.body


def test_failed_request_leaves_no_state(server: TestServer) -> None:
    tables = ("users", "profiles", "devices", "access_tokens", "ui_auth_sessions")
    before = {table: count_rows(server, table) for table in tables}
    for body in (
        {"username": "bad name", "password": PASSWORD},
        {"username": "alice", "password": "short"},
        {"username": "alice", "password": PASSWORD, "device_id": 5},
        {"username": "alice", "password": PASSWORD, "refresh_token": "yes"},
    ):
        assert server.request("POST", REGISTER, body).code == 400, body
    assert server.request("POST", REGISTER, b"[]").code == 400
    assert {table: count_rows(server, table) for table in tables} == before


def test_internal_errors_are_matrix_errors(
    server: TestServer, monkeypatch: Any
) -> None:
    async def boom(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(server.hs.accounts.login, "login", boom)
    resp = server.request("POST", LOGIN, {"type": "m.login.password"})
    assert resp.code == 500
    assert resp.json == {"errcode": "M_UNKNOWN", "error": "Internal server error"}
    assert b"kaboom" not in resp.body
