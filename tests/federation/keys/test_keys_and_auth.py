"""Published server keys and the X-Matrix request signature."""

from __future__ import annotations

import pytest
from signedjson.key import decode_verify_key_bytes, generate_signing_key, get_verify_key
from signedjson.sign import verify_signed_json
from unpaddedbase64 import decode_base64

from homeserver.federation.transport.auth import (
    parse_x_matrix,
    sign_request,
    verify_request,
)
from tests.support.server import TEST_SIGNING_KEY, TestServer

KEY = generate_signing_key("k1")


def test_key_response_is_signed_by_the_published_key(server: TestServer) -> None:
    resp = server.request("GET", "/_matrix/key/v2/server")
    assert resp.code == 200
    body = resp.json
    assert body["server_name"] == "test"
    assert body["valid_until_ts"] > server.hs.core.clock.time_msec()
    key_id = f"ed25519:{TEST_SIGNING_KEY.version}"
    published = body["verify_keys"][key_id]["key"]
    verify_key = decode_verify_key_bytes(key_id, decode_base64(published))
    verify_signed_json(body, "test", verify_key)  # raises if the signature is bad
    assert body["old_verify_keys"] == {}


def test_legacy_key_id_path(server: TestServer) -> None:
    resp = server.request("GET", "/_matrix/key/v2/server/ed25519:whatever")
    assert resp.code == 200
    assert resp.json["server_name"] == "test"


def _signed(content: object = None) -> str:
    return sign_request(
        KEY, "PUT", "/_matrix/federation/v1/send/1", "a.example", "b.example", content
    )


def test_signed_request_verifies() -> None:
    header = _signed({"pdus": []})
    auth = parse_x_matrix(header)
    assert (auth.origin, auth.destination, auth.key_id) == (
        "a.example",
        "b.example",
        "ed25519:k1",
    )
    assert verify_request(
        auth,
        "PUT",
        "/_matrix/federation/v1/send/1",
        "b.example",
        {"pdus": []},
        get_verify_key(KEY),
    )


@pytest.mark.parametrize(
    ("method", "uri", "destination", "content"),
    [
        ("POST", "/_matrix/federation/v1/send/1", "b.example", {"pdus": []}),
        ("PUT", "/_matrix/federation/v1/send/2", "b.example", {"pdus": []}),
        ("PUT", "/_matrix/federation/v1/send/1", "c.example", {"pdus": []}),
        ("PUT", "/_matrix/federation/v1/send/1", "b.example", {"pdus": [1]}),
        ("PUT", "/_matrix/federation/v1/send/1", "b.example", None),
    ],
)
def test_tampered_requests_fail(
    method: str, uri: str, destination: str, content: object
) -> None:
    auth = parse_x_matrix(_signed({"pdus": []}))
    assert not verify_request(
        auth, method, uri, destination, content, get_verify_key(KEY)
    )


def test_wrong_key_fails() -> None:
    auth = parse_x_matrix(_signed())
    other = generate_signing_key("k1")
    assert not verify_request(
        auth,
        "PUT",
        "/_matrix/federation/v1/send/1",
        "b.example",
        None,
        get_verify_key(other),
    )


def test_spec_style_header_parses() -> None:
    auth = parse_x_matrix(
        'X-Matrix origin="origin.hs.example.com",destination="destination.hs.example.com",'
        'key="ed25519:key1",sig="ABCDEF..."'
    )
    assert auth.origin == "origin.hs.example.com"
    assert auth.signature == "ABCDEF..."
    # Older servers send no destination and unquoted values.
    legacy = parse_x_matrix("X-Matrix origin=a.example,key=ed25519:k,sig=xyz")
    assert (legacy.origin, legacy.destination, legacy.signature) == (
        "a.example",
        None,
        "xyz",
    )


@pytest.mark.parametrize(
    "header",
    [
        "Bearer abc",
        "X-Matrix origin=a",
        "X-Matrix key=k,sig=s",
        "X-Matrix origin=localhost:http,key=ed25519:k,sig=s",
    ],
)
def test_bad_headers(header: str) -> None:
    with pytest.raises(ValueError):
        parse_x_matrix(header)
