"""Expiring access tokens and POST /refresh."""

from __future__ import annotations

from typing import Any

from tests.api.helpers import CLIENT, login, whoami
from tests.support.server import FakeResponse, TestServer

REFRESH = f"{CLIENT}/refresh"


def login_with_refresh(server: TestServer) -> tuple[str, str, str]:
    """Log alice in with refresh_token: true; returns (access, refresh, device_id)."""
    server.get_success(server.hs.accounts.accounts.register("alice", "password123"))
    resp = login(server, "alice", refresh_token=True)
    assert resp.code == 200, resp.json
    assert resp.json["expires_in_ms"] == 300_000
    return resp.json["access_token"], resp.json["refresh_token"], resp.json["device_id"]


def refresh(server: TestServer, token: str) -> FakeResponse:
    return server.request("POST", REFRESH, {"refresh_token": token})


def test_access_token_expires_with_soft_logout(server: TestServer) -> None:
    access, _, _ = login_with_refresh(server)
    assert whoami(server, access).code == 200
    server.advance(299)
    assert whoami(server, access).code == 200
    server.advance(2)
    resp = whoami(server, access)
    assert resp.code == 401
    assert resp.json["errcode"] == "M_UNKNOWN_TOKEN"
    assert resp.json["soft_logout"] is True


def test_tokens_without_refresh_do_not_expire(server: TestServer) -> None:
    _, token = server.register("bob")
    server.advance(30 * 24 * 3600)
    assert whoami(server, token).code == 200


def test_refresh_rotates(server: TestServer) -> None:
    access, refresh_token, device_id = login_with_refresh(server)
    server.advance(301)
    resp = refresh(server, refresh_token)
    assert resp.code == 200, resp.json
    assert set(resp.json) == {"access_token", "refresh_token", "expires_in_ms"}
    assert resp.json["access_token"] != access
    assert resp.json["refresh_token"] != refresh_token
    assert resp.json["expires_in_ms"] == 300_000
    me = whoami(server, resp.json["access_token"])
    assert me.code == 200
    assert me.json["device_id"] == device_id
    # The new access token expires too.
    server.advance(301)
    assert whoami(server, resp.json["access_token"]).json["soft_logout"] is True


def test_old_refresh_token_works_until_new_access_token_is_used(
    server: TestServer,
) -> None:
    _, first, _ = login_with_refresh(server)
    resp = refresh(server, first)
    assert resp.code == 200
    # The client lost the response: it may repeat the refresh.
    again = refresh(server, first)
    assert again.code == 200, again.json
    # Using the newest access token retires the old refresh token.
    assert whoami(server, again.json["access_token"]).code == 200
    gone = refresh(server, first)
    assert gone.code == 401
    assert gone.json["errcode"] == "M_UNKNOWN_TOKEN"
    # The newest refresh token keeps working.
    assert refresh(server, again.json["refresh_token"]).code == 200


def test_using_new_refresh_token_retires_the_old_one(server: TestServer) -> None:
    _, first, _ = login_with_refresh(server)
    second = refresh(server, first).json["refresh_token"]
    third = refresh(server, second)
    assert third.code == 200
    resp = refresh(server, first)
    assert (resp.code, resp.json["errcode"]) == (401, "M_UNKNOWN_TOKEN")


def test_unknown_refresh_token(server: TestServer) -> None:
    resp = refresh(server, "chr_unknown")
    assert resp.code == 401
    assert resp.json["errcode"] == "M_UNKNOWN_TOKEN"
    # An access token is not a refresh token.
    access, _, _ = login_with_refresh(server)
    assert refresh(server, access).code == 401


def test_refresh_request_shape(server: TestServer) -> None:
    # An absent required field is M_MISSING_PARAM (spec "Common error codes"),
    # a wrong type M_BAD_JSON.
    for body, errcode in (
        ({}, "M_MISSING_PARAM"),
        ({"refresh_token": 5}, "M_BAD_JSON"),
    ):
        resp = server.request("POST", REFRESH, body)
        assert (resp.code, resp.json["errcode"]) == (400, errcode)
    assert server.request("POST", REFRESH, b"nope").json["errcode"] == "M_NOT_JSON"
    # Also served under v1, and not under r0.
    assert (
        server.request(
            "POST", "/_matrix/client/v1/refresh", {"refresh_token": "x"}
        ).code
        == 401
    )
    assert (
        server.request(
            "POST", "/_matrix/client/r0/refresh", {"refresh_token": "x"}
        ).code
        == 404
    )


def test_logout_kills_the_refresh_token(server: TestServer) -> None:
    access, refresh_token, _ = login_with_refresh(server)
    assert server.request("POST", f"{CLIENT}/logout", {}, token=access).code == 200
    assert refresh(server, refresh_token).code == 401


def test_refresh_token_lifetime(make_server: Any) -> None:
    server = make_server({"auth": {"refresh_token_lifetime": "1h"}})
    _, refresh_token, _ = login_with_refresh(server)
    server.advance(3601)
    resp = refresh(server, refresh_token)
    assert (resp.code, resp.json["errcode"]) == (401, "M_UNKNOWN_TOKEN")


def test_logout_works_with_an_expired_access_token(server: TestServer) -> None:
    access, refresh_token, _ = login_with_refresh(server)
    server.advance(301)
    resp = server.request("POST", f"{CLIENT}/logout", {}, token=access)
    assert resp.code == 200, resp.json
    assert refresh(server, refresh_token).code == 401
