"""OpenID tokens: minted over the client API, checked by a third party
through the federation userinfo endpoint (also Chatly to Chatly)."""

from __future__ import annotations

from typing import Any

import pytest

from homeserver.api.http.site import HomeserverSite
from homeserver.federation.errors import HttpResponseError
from tests.federation.pair import FederationPair
from tests.support.server import TestServer

USERINFO = "/_matrix/federation/v1/openid/userinfo"


def _token(resp: Any) -> str:
    return str(resp.json["access_token"])


def test_request_token_and_userinfo(server: TestServer) -> None:
    alice = server.user("alice")
    resp = alice.post(f"/user/{alice.user_id}/openid/request_token", {}, expect=200)
    body = resp.json
    assert body["token_type"] == "Bearer"
    assert body["matrix_server_name"] == "test"
    assert body["expires_in"] == 3600
    info = server.request("GET", f"{USERINFO}?access_token={_token(resp)}")
    assert info.code == 200, info.json
    assert info.json == {"sub": alice.user_id}
    # Served on r0 too, and an empty body is fine.
    alice.post(
        f"/_matrix/client/r0/user/{alice.user_id}/openid/request_token",
        expect=200,
    )


def test_token_expires_after_an_hour(server: TestServer) -> None:
    alice = server.user("alice")
    resp = alice.post(f"/user/{alice.user_id}/openid/request_token", {}, expect=200)
    server.advance(3601)
    info = server.request("GET", f"{USERINFO}?access_token={_token(resp)}")
    assert info.code == 401
    assert info.json["errcode"] == "M_UNKNOWN_TOKEN"


def test_userinfo_errors(server: TestServer) -> None:
    missing = server.request("GET", USERINFO)
    assert (missing.code, missing.json["errcode"]) == (401, "M_MISSING_TOKEN")
    unknown = server.request("GET", f"{USERINFO}?access_token=nope")
    assert (unknown.code, unknown.json["errcode"]) == (401, "M_UNKNOWN_TOKEN")
    # A client access token is no OpenID token.
    alice = server.user("alice")
    wrong = server.request("GET", f"{USERINFO}?access_token={alice.token}")
    assert wrong.code == 401


def test_cannot_request_for_another_user(server: TestServer) -> None:
    alice = server.user("alice")
    resp = alice.post("/user/@bob:test/openid/request_token", {}, expect=403)
    assert resp.json["errcode"] == "M_FORBIDDEN"
    bad = alice.post(
        f"/user/{alice.user_id}/openid/request_token", b"{not json", expect=400
    )
    assert bad.json["errcode"] == "M_NOT_JSON"


def test_needs_a_login(server: TestServer) -> None:
    resp = server.request(
        "POST", "/_matrix/client/v3/user/@a:test/openid/request_token"
    )
    assert resp.code == 401


def test_chatly_checks_a_token_of_another_chatly(pair: FederationPair) -> None:
    """b.test, given a token alice of a.test minted, asks a.test who it is."""
    a, b = pair.a, pair.b
    alice = a.user("alice")
    resp = alice.post(f"/user/{alice.user_id}/openid/request_token", {}, expect=200)
    assert resp.json["matrix_server_name"] == "a.test"
    transport = b.hs.federation.transport
    info = b.get_success(
        transport.get_json(
            "a.test", USERINFO, query={"access_token": [_token(resp)]}, signed=False
        )
    )
    assert info == {"sub": "@alice:a.test"}
    with pytest.raises(HttpResponseError) as failure:
        b.get_success(
            transport.get_json(
                "a.test", USERINFO, query={"access_token": ["x"]}, signed=False
            )
        )
    assert failure.value.code == 401


def test_openid_resource_serves_userinfo_only(server: TestServer) -> None:
    """A listener with resources [client, openid] (as Synapse's) answers
    userinfo, but no other federation endpoint."""
    alice = server.user("alice")
    token = _token(
        alice.post(f"/user/{alice.user_id}/openid/request_token", {}, expect=200)
    )
    server.site = HomeserverSite(
        server.hs.build_resource(["client", "openid"]),
        int(server.config.http.max_request_body_size),
        server.reactor,
    )
    info = server.request("GET", f"{USERINFO}?access_token={token}")
    assert info.json == {"sub": alice.user_id}
    assert server.request("GET", "/_matrix/federation/v1/version").code == 404
