"""The key ring: other servers' keys fetched over the loopback federation,
cached in memory and the database, used within their validity windows, with
old keys and a notary fallback."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import attrs
import pytest
from signedjson.key import (
    encode_verify_key_base64,
    generate_signing_key,
    get_verify_key,
)
from signedjson.sign import SignatureVerifyException
from signedjson.types import SigningKey

from homeserver.events.signing import sign_json
from homeserver.federation.keys.keyring import (
    MAX_KEY_VALIDITY_MS,
    KeyResponseError,
    KeyRing,
    parse_key_response,
)
from tests.federation.pair import Federation, FederationPair
from tests.support.server import TestServer

KEY_PATH = "/_matrix/key/v2/server"
HOUR = 3600.0


def _signed(server_name: str, key: SigningKey, **content: Any) -> dict[str, Any]:
    return sign_json({"hello": "world", **content}, server_name, key)


def _verify(server: TestServer, origin: str, obj: Any, at: int | None = None) -> None:
    keyring = server.hs.federation.keys.keyring
    when = server.hs.core.clock.time_msec() if at is None else at
    server.get_success(keyring.verify_json_for_server(origin, obj, when))


def _key_fetches(fed: Federation, origin: str, destination: str) -> int:
    return fed.requests.count((origin, destination, "GET", KEY_PATH))


def test_fetches_once_then_uses_the_cache(pair: FederationPair) -> None:
    obj = _signed("b.test", pair.b.signing_key)
    _verify(pair.a, "b.test", obj)
    _verify(pair.a, "b.test", obj)
    assert _key_fetches(pair, "a.test", "b.test") == 1


def test_keys_are_kept_in_the_database(pair: FederationPair) -> None:
    obj = _signed("b.test", pair.b.signing_key)
    _verify(pair.a, "b.test", obj)
    pair.set_reachable("b.test", False)
    fed = pair.a.hs.federation
    fresh = KeyRing(
        local=fed.keys.local,
        transport=fed.transport,
        store=fed.keys.store,
        clock=pair.a.hs.core.clock,
    )
    now = pair.a.hs.core.clock.time_msec()
    pair.a.get_success(fresh.verify_json_for_server("b.test", obj, now))
    assert _key_fetches(pair, "a.test", "b.test") == 1


def test_bad_or_missing_signatures_fail(pair: FederationPair) -> None:
    impostor = generate_signing_key("k1")  # b's key ID, another key
    with pytest.raises(SignatureVerifyException):
        _verify(pair.a, "b.test", _signed("b.test", impostor))
    with pytest.raises(SignatureVerifyException):
        _verify(pair.a, "b.test", {"hello": "world"})
    tampered = _signed("b.test", pair.b.signing_key)
    tampered["hello"] = "there"
    with pytest.raises(SignatureVerifyException):
        _verify(pair.a, "b.test", tampered)
    # A key the server never published.
    with pytest.raises(SignatureVerifyException):
        _verify(pair.a, "b.test", _signed("b.test", generate_signing_key("nope")))


def test_an_expired_key_is_refetched(pair: FederationPair) -> None:
    obj = _signed("b.test", pair.b.signing_key)
    signed_at = pair.a.hs.core.clock.time_msec()
    _verify(pair.a, "b.test", obj)
    pair.pump(25 * HOUR)  # b's answer was valid for 24 hours
    # Still fine for something signed while the key was valid: no fetch.
    _verify(pair.a, "b.test", obj, at=signed_at)
    assert _key_fetches(pair, "a.test", "b.test") == 1
    _verify(pair.a, "b.test", obj)
    assert _key_fetches(pair, "a.test", "b.test") == 2


def test_no_key_for_now_when_the_server_is_gone(pair: FederationPair) -> None:
    obj = _signed("b.test", pair.b.signing_key)
    _verify(pair.a, "b.test", obj)
    pair.set_reachable("b.test", False)
    pair.pump(25 * HOUR)
    with pytest.raises(SignatureVerifyException):
        _verify(pair.a, "b.test", obj)


def _with_old_key(
    make_pair: Callable[..., FederationPair], expired_ts: int
) -> tuple[FederationPair, SigningKey]:
    old = generate_signing_key("old")
    old_keys = {
        "ed25519:old": {
            "key": encode_verify_key_base64(get_verify_key(old)),
            "expired_ts": expired_ts,
        }
    }
    pair = make_pair(overrides_b={"federation": {"old_signing_keys": old_keys}})
    return pair, old


def test_old_keys_verify_what_they_signed_before_expiry(
    make_pair: Callable[..., FederationPair],
) -> None:
    pair, old = _with_old_key(make_pair, expired_ts=5_000)
    obj = _signed("b.test", old)
    _verify(pair.a, "b.test", obj, at=4_000)
    with pytest.raises(SignatureVerifyException):
        _verify(pair.a, "b.test", obj, at=6_000)
    # Old keys never authenticate requests.
    keyring = pair.a.hs.federation.keys.keyring
    assert (
        pair.a.get_success(keyring.get_verify_key("b.test", "ed25519:old", 0)) is None
    )


def test_notary_fallback(make_federation: Callable[[], Federation]) -> None:
    fed = make_federation()
    notary_key = generate_signing_key("n1")
    trusted = {
        "server_name": "n.test",
        "verify_keys": {
            "ed25519:n1": encode_verify_key_base64(get_verify_key(notary_key))
        },
    }
    a = fed.add_server("a.test", {"federation": {"trusted_key_servers": [trusted]}})
    b = fed.add_server("b.test")
    fed.add_server("n.test", signing_key=notary_key)
    fed.set_reachable("b.test", False, from_server="a.test")
    _verify(a, "b.test", _signed("b.test", b.signing_key))
    assert ("a.test", "n.test", "POST", "/_matrix/key/v2/query") in fed.requests
    assert _key_fetches(fed, "n.test", "b.test") == 1


def test_notary_signed_with_another_key_is_not_trusted(
    make_federation: Callable[[], Federation],
) -> None:
    fed = make_federation()
    wrong = encode_verify_key_base64(get_verify_key(generate_signing_key("n1")))
    trusted = {"server_name": "n.test", "verify_keys": {"ed25519:n1": wrong}}
    a = fed.add_server("a.test", {"federation": {"trusted_key_servers": [trusted]}})
    b = fed.add_server("b.test")
    fed.add_server("n.test", signing_key=generate_signing_key("n1"))
    fed.set_reachable("b.test", False, from_server="a.test")
    with pytest.raises(SignatureVerifyException):
        _verify(a, "b.test", _signed("b.test", b.signing_key))


def test_notary_without_configured_keys_is_asked_for_its_own(
    make_federation: Callable[[], Federation],
) -> None:
    fed = make_federation()
    trusted = {"server_name": "n.test"}
    a = fed.add_server("a.test", {"federation": {"trusted_key_servers": [trusted]}})
    b = fed.add_server("b.test")
    fed.add_server("n.test")
    fed.set_reachable("b.test", False, from_server="a.test")
    _verify(a, "b.test", _signed("b.test", b.signing_key))
    assert _key_fetches(fed, "a.test", "n.test") == 1


def test_verify_event(pair: FederationPair) -> None:
    bob = pair.b.user("bob")
    room_id = bob.create_room()
    resp = bob.send_event(room_id, {"msgtype": "m.text", "body": "hi"})
    event = pair.b.get_success(pair.b.hs.core.events.get_event(resp.json["event_id"]))
    keyring = pair.a.hs.federation.keys.keyring
    pair.a.get_success(keyring.verify_event(event))
    forged = copy.deepcopy(event.pdu)
    forged["origin_server_ts"] += 1
    with pytest.raises(SignatureVerifyException):
        pair.a.get_success(keyring.verify_event(attrs.evolve(event, pdu=forged)))
    forged = copy.deepcopy(event.pdu)
    forged["sender"] = "@mallory:a.test"  # now a.test must have signed it
    with pytest.raises(SignatureVerifyException):
        pair.a.get_success(keyring.verify_event(attrs.evolve(event, pdu=forged)))


# -- key responses (pure) ----------------------------------------------------
def _response(key: SigningKey, server_name: str = "b.test", **extra: Any) -> Any:
    body = {
        "server_name": server_name,
        "valid_until_ts": 10_000,
        "verify_keys": {
            "ed25519:k1": {"key": encode_verify_key_base64(get_verify_key(key))}
        },
        "old_verify_keys": {},
        **extra,
    }
    return sign_json(body, server_name, key)


def test_parse_key_response() -> None:
    key = generate_signing_key("k1")
    stored, keys = parse_key_response(_response(key), "b.test", 0)
    assert stored.valid_until_ts == 10_000
    assert [(k.key_id, k.is_old) for k in keys] == [("ed25519:k1", False)]


def test_validity_is_capped_at_seven_days() -> None:
    key = generate_signing_key("k1")
    response = _response(key, valid_until_ts=10**15)
    stored, keys = parse_key_response(response, "b.test", 0)
    assert stored.valid_until_ts == keys[0].valid_until_ts == MAX_KEY_VALIDITY_MS


@pytest.mark.parametrize(
    "mangle",
    [
        lambda r: r.update(server_name="c.test"),
        lambda r: r.update(valid_until_ts="soon"),
        lambda r: r.update(verify_keys={}),
        lambda r: r.update(hello="unsigned change"),
        lambda r: r["signatures"].pop("b.test"),
        lambda r: r.update(old_verify_keys={"ed25519:o": {"key": "AAAA"}}),
    ],
)
def test_bad_key_responses_are_rejected(mangle: Callable[[Any], Any]) -> None:
    response = _response(generate_signing_key("k1"))
    mangle(response)
    with pytest.raises(KeyResponseError):
        parse_key_response(response, "b.test", 0)
