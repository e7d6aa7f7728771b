"""GET /voip/turnServer: coturn shared-secret credentials, static ones, none."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable

from tests.support.server import TestServer

URIS = ["turn:turn.example.com:3478?transport=udp", "turns:turn.example.com:5349"]


def test_no_turn_server_gives_empty_object(server: TestServer) -> None:
    alice = server.user("alice")
    assert alice.get("/voip/turnServer", expect=200).json == {}


def test_shared_secret_credentials(make_server: Callable[..., TestServer]) -> None:
    server = make_server(
        {
            "voip": {
                "turn_uris": URIS,
                "turn_shared_secret": "s3cret",
                "turn_user_lifetime": "1h",
            }
        }
    )
    alice = server.user("alice")
    now_s = server.reactor.seconds()
    body = alice.get("/voip/turnServer", expect=200).json
    assert body["uris"] == URIS
    assert body["ttl"] == 3600
    expiry, _, user = body["username"].partition(":")
    assert user == alice.user_id
    assert int(expiry) == int(now_s + 3600)
    # What coturn computes from its static-auth-secret.
    mac = hmac.new(b"s3cret", body["username"].encode(), hashlib.sha1).digest()
    assert body["password"] == base64.b64encode(mac).decode()
    # Served on r0 as well.
    r0 = server.request("GET", "/_matrix/client/r0/voip/turnServer", token=alice.token)
    assert r0.json["uris"] == URIS


def test_static_credentials(make_server: Callable[..., TestServer]) -> None:
    server = make_server(
        {
            "voip": {
                "turn_uris": URIS[:1],
                "turn_username": "user",
                "turn_password": "pass",
            }
        }
    )
    alice = server.user("alice")
    body = alice.get("/voip/turnServer", expect=200).json
    assert body == {
        "username": "user",
        "password": "pass",
        "ttl": 3600,
        "uris": URIS[:1],
    }


def test_secret_without_uris_gives_empty_object(
    make_server: Callable[..., TestServer],
) -> None:
    server = make_server({"voip": {"turn_shared_secret": "s3cret"}})
    assert server.user("alice").get("/voip/turnServer", expect=200).json == {}


def test_needs_a_login(server: TestServer) -> None:
    resp = server.request("GET", "/_matrix/client/v3/voip/turnServer")
    assert (resp.code, resp.json["errcode"]) == (401, "M_MISSING_TOKEN")
