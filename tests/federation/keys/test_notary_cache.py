"""The notary's cache of other servers' keys (sytest 50federation/01keys.pl):
an expired key is returned when nothing newer can be had, a later response
that leaves a key out does not make the notary forget it, and the
deprecated ``GET /_matrix/key/v2/query/{serverName}/{keyId}`` is served.
"""

from __future__ import annotations

from typing import Any

from signedjson.key import (
    encode_verify_key_base64,
    generate_signing_key,
    get_verify_key,
)
from signedjson.sign import sign_json
from signedjson.types import SigningKey

from homeserver.federation.errors import HttpResponseError
from tests.federation.pair import FederationPair
from tests.support.server import TestServer

QUERY = "/_matrix/key/v2/query"
ORIGIN = "origin.test"
DAY_MS = 24 * 3600 * 1000


def _key_response(key: SigningKey, valid_until_ts: int) -> dict[str, Any]:
    """``ORIGIN``'s key response publishing ``key`` alone."""
    key_id = f"ed25519:{key.version}"
    response = {
        "server_name": ORIGIN,
        "valid_until_ts": valid_until_ts,
        "verify_keys": {key_id: {"key": encode_verify_key_base64(get_verify_key(key))}},
        "old_verify_keys": {},
    }
    return sign_json(response, ORIGIN, key)


class _Origin:
    """Answers the notary's ``GET /_matrix/key/v2/server`` for ``ORIGIN`` as
    told (a response, or None for a 400); other servers as before."""

    def __init__(self, server: TestServer) -> None:
        self.keyring = server.hs.federation.keys.keyring
        self.inner = self.keyring.transport
        self.answer: dict[str, Any] | None = None
        self.asked = 0
        self.keyring.transport = self

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def get_json(self, destination: str, path: str, *a: Any, **k: Any) -> Any:
        if destination != ORIGIN:
            return await self.inner.get_json(destination, path, *a, **k)
        self.asked += 1
        if self.answer is None:
            raise HttpResponseError(400, {})
        return self.answer


def _query(notary: TestServer, key_id: str, minimum: int | None) -> list[Any]:
    criteria = {} if minimum is None else {"minimum_valid_until_ts": minimum}
    body = {"server_keys": {ORIGIN: {key_id: criteria}}}
    resp = notary.request("POST", QUERY, body)
    assert resp.code == 200, resp.json
    return list(resp.json["server_keys"])


def test_an_expired_key_is_returned_when_nothing_newer_is_found(
    pair: FederationPair,
) -> None:
    notary = pair.a
    origin = _Origin(notary)
    key = generate_signing_key("key_0")
    expiry = notary.hs.core.clock.time_msec() - DAY_MS
    origin.answer = _key_response(key, expiry)
    assert [r["verify_keys"].keys() for r in _query(notary, "ed25519:key_0", None)]
    # A later minimum forces a refetch; the same (expired) answer comes back.
    pair.pump(31)
    [res] = _query(notary, "ed25519:key_0", expiry + 1000)
    assert origin.asked == 2
    assert (res["server_name"], res["valid_until_ts"]) == (ORIGIN, expiry)
    assert "ed25519:key_0" in res["verify_keys"]
    # The origin fails: the expired key is still what we have.
    origin.answer = None
    pair.pump(31)
    [res] = _query(notary, "ed25519:key_0", expiry + 1000)
    assert origin.asked == 3
    assert res["valid_until_ts"] == expiry and "ed25519:key_0" in res["verify_keys"]


def test_a_spurious_response_does_not_displace_a_held_key(
    pair: FederationPair,
) -> None:
    """Synapse issue 5305: the origin forgets key_1; the notary does not."""
    notary = pair.a
    origin = _Origin(notary)
    key_1, key_2 = generate_signing_key("key_1"), generate_signing_key("key_2")
    expiry = notary.hs.core.clock.time_msec() - DAY_MS
    origin.answer = _key_response(key_1, expiry)
    [res] = _query(notary, "ed25519:key_1", None)
    assert "ed25519:key_1" in res["verify_keys"]
    pair.pump(31)
    origin.answer = _key_response(key_2, expiry + 1000)
    _query(notary, "ed25519:key_1", notary.hs.core.clock.time_msec())
    assert origin.asked == 2
    found = _query(notary, "ed25519:key_1", expiry)
    assert any("ed25519:key_1" in r["verify_keys"] for r in found), found
    # key_2, asked for, is known too.
    found = _query(notary, "ed25519:key_2", None)
    assert any("ed25519:key_2" in r["verify_keys"] for r in found), found


def test_the_deprecated_single_key_query_is_served(pair: FederationPair) -> None:
    resp = pair.a.request("GET", f"{QUERY}/b.test/ed25519:k1")
    assert resp.code == 200, resp.json
    [keys] = resp.json["server_keys"]
    assert keys["server_name"] == "b.test" and "ed25519:k1" in keys["verify_keys"]
    resp = pair.a.request("GET", f"{QUERY}/b.test/ed25519:k1?minimum_valid_until_ts=0")
    assert resp.code == 200 and resp.json["server_keys"], resp.json
