"""Inbound X-Matrix authentication: b.test checks requests signed by a.test,
fetching a.test's keys over the loopback federation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from signedjson.key import generate_signing_key

from homeserver.api.http.request import ApiRequest
from homeserver.federation.transport.auth import sign_request
from homeserver.federation.transport.inbound_auth import FederationAuthenticator
from homeserver.types import JsonDict
from tests.federation.pair import FederationPair, add_test_endpoint
from tests.support.server import TestServer

PROBE = "/_matrix/federation/v1/auth_probe"


class AuthProbe:
    """Answers with the authenticated origin."""

    PATTERNS = [PROBE]

    def __init__(self, authenticator: FederationAuthenticator) -> None:
        self.authenticator = authenticator

    async def on_GET(self, request: ApiRequest) -> JsonDict:
        return {"origin": await self.authenticator.authenticate(request)}

    async def on_PUT(self, request: ApiRequest) -> JsonDict:
        return {"origin": await self.authenticator.authenticate(request)}


def _probe(server: TestServer) -> None:
    add_test_endpoint(server, AuthProbe(server.hs.federation.keys.authenticator))


def _pair(make_pair: Callable[..., FederationPair], **b: Any) -> FederationPair:
    pair = make_pair(overrides_b=b or None)
    _probe(pair.b)
    return pair


def test_signed_request_is_authenticated(
    make_pair: Callable[..., FederationPair],
) -> None:
    pair = _pair(make_pair)
    resp = pair.signed_request(pair.a, pair.b, "PUT", PROBE, {"x": [1, "two"]})
    assert resp.code == 200, resp.json
    assert resp.json == {"origin": "a.test"}
    # b fetched a's keys over federation to check the signature.
    assert ("b.test", "a.test", "GET", "/_matrix/key/v2/server") in pair.requests


def test_signed_request_with_query(make_pair: Callable[..., FederationPair]) -> None:
    pair = _pair(make_pair)
    resp = pair.signed_request(pair.a, pair.b, "GET", PROBE + "?limit=10&x=%20y")
    assert resp.code == 200, resp.json


def test_outbound_transport_requests_are_authenticated(
    make_pair: Callable[..., FederationPair],
) -> None:
    pair = _pair(make_pair)
    a = pair.a
    body = a.get_success(
        a.hs.federation.transport.put_json("b.test", PROBE, {"k": "v"}, {"q": "1"})
    )
    assert body == {"origin": "a.test"}


def test_unsigned_request_is_401(make_pair: Callable[..., FederationPair]) -> None:
    pair = _pair(make_pair)
    resp = pair.b.request("GET", PROBE)
    assert resp.code == 401
    assert resp.json["errcode"] == "M_UNAUTHORIZED"
    # A malformed header is a bad request, whoever sent it (as Synapse).
    resp = pair.b.request("GET", PROBE, headers={"Authorization": "X-Matrix foo"})
    assert (resp.code, resp.json["errcode"]) == (400, "M_UNAUTHORIZED")


def test_an_origin_with_a_non_numeric_port_is_400(
    make_pair: Callable[..., FederationPair],
) -> None:
    """``localhost:http`` is no server name: 400 M_UNAUTHORIZED (as Synapse),
    not the 401 of a signature that could not be checked."""
    pair = _pair(make_pair)
    for origin in ("localhost:http", "a.test:", "a.test:123456", "bad_name"):
        header = sign_request(pair.a.signing_key, "GET", PROBE, origin, "b.test", None)
        resp = pair.b.request("GET", PROBE, headers={"Authorization": header})
        assert (resp.code, resp.json["errcode"]) == (400, "M_UNAUTHORIZED"), origin


def test_bad_signature_is_401(make_pair: Callable[..., FederationPair]) -> None:
    pair = _pair(make_pair)
    impostor = generate_signing_key("k1")  # same key ID as a's real key
    resp = pair.signed_request(pair.a, pair.b, "GET", PROBE, key=impostor)
    assert resp.code == 401
    assert resp.json["errcode"] == "M_UNAUTHORIZED"


def test_unknown_key_id_is_401(make_pair: Callable[..., FederationPair]) -> None:
    pair = _pair(make_pair)
    resp = pair.signed_request(
        pair.a, pair.b, "GET", PROBE, key=generate_signing_key("other")
    )
    assert resp.code == 401


def test_tampered_body_is_401(make_pair: Callable[..., FederationPair]) -> None:
    pair = _pair(make_pair)
    # Signed over one body, sent with another.
    auth = sign_request(pair.a.signing_key, "PUT", PROBE, "a.test", "b.test", {"n": 1})
    resp = pair.b.request("PUT", PROBE, {"n": 2}, headers={"Authorization": auth})
    assert resp.code == 401


def test_wrong_destination_is_401(make_pair: Callable[..., FederationPair]) -> None:
    pair = _pair(make_pair)
    resp = pair.signed_request(pair.a, pair.b, "GET", PROBE, auth_destination="c.test")
    assert resp.code == 401
    assert resp.json["errcode"] == "M_UNAUTHORIZED"


def test_header_without_destination_is_accepted(
    make_pair: Callable[..., FederationPair],
) -> None:
    pair = _pair(make_pair)
    full = sign_request(pair.a.signing_key, "GET", PROBE, "a.test", "b.test")
    legacy = full.replace('destination="b.test",', "")
    resp = pair.b.request("GET", PROBE, headers={"Authorization": legacy})
    assert resp.code == 200, resp.json


def test_unreachable_origin_is_401(make_pair: Callable[..., FederationPair]) -> None:
    pair = _pair(make_pair)
    pair.set_reachable("a.test", False)
    resp = pair.signed_request(pair.a, pair.b, "GET", PROBE)
    assert resp.code == 401


def test_domain_whitelist_is_403(make_pair: Callable[..., FederationPair]) -> None:
    pair = _pair(make_pair, federation={"domain_whitelist": ["c.test"]})
    resp = pair.signed_request(pair.a, pair.b, "GET", PROBE)
    assert resp.code == 403
    assert resp.json["errcode"] == "M_FORBIDDEN"


def test_whitelisted_origin_is_allowed(
    make_pair: Callable[..., FederationPair],
) -> None:
    pair = _pair(make_pair, federation={"domain_whitelist": ["a.test"]})
    resp = pair.signed_request(pair.a, pair.b, "GET", PROBE)
    assert resp.code == 200


def test_federation_disabled_is_403(make_pair: Callable[..., FederationPair]) -> None:
    pair = _pair(make_pair, federation={"enabled": False})
    resp = pair.signed_request(pair.a, pair.b, "GET", PROBE)
    assert resp.code == 403


def test_real_endpoints_demand_signatures(pair: FederationPair) -> None:
    path = "/_matrix/federation/v1/send/t1"
    body = {"origin": "a.test", "origin_server_ts": 1, "pdus": []}
    assert pair.b.request("PUT", path, body).code == 401
    impostor = generate_signing_key("k1")
    resp = pair.signed_request(pair.a, pair.b, "PUT", path, body, key=impostor)
    assert resp.code == 401
    resp = pair.signed_request(pair.a, pair.b, "PUT", path, body)
    assert resp.code == 200, resp.json
