"""Our published keys (with old keys) and the notary endpoints."""

from __future__ import annotations

from collections.abc import Callable

from signedjson.key import (
    encode_verify_key_base64,
    generate_signing_key,
    get_verify_key,
)

from homeserver.events.signing import verify_json
from tests.federation.pair import Federation, FederationPair
from tests.support.server import TestServer

KEY_PATH = "/_matrix/key/v2/server"
QUERY = "/_matrix/key/v2/query"


def _signed_by(body: dict, server: TestServer) -> bool:  # type: ignore[type-arg]
    name = server.config.server.server_name
    return verify_json(body, name, get_verify_key(server.signing_key))


def test_published_old_keys(make_pair: Callable[..., FederationPair]) -> None:
    old_pub = encode_verify_key_base64(get_verify_key(generate_signing_key("old")))
    pair = make_pair(
        overrides_a={
            "federation": {
                "old_signing_keys": {
                    "ed25519:old": {"key": old_pub, "expired_ts": 1234}
                }
            }
        }
    )
    body = pair.a.request("GET", KEY_PATH).json
    assert body["old_verify_keys"] == {
        "ed25519:old": {"key": old_pub, "expired_ts": 1234}
    }
    assert set(body["verify_keys"]) == {"ed25519:k1"}
    assert _signed_by(body, pair.a)


def test_single_query_fetches_and_countersigns(pair: FederationPair) -> None:
    resp = pair.a.request("GET", f"{QUERY}/b.test")
    assert resp.code == 200, resp.json
    [keys] = resp.json["server_keys"]
    assert keys["server_name"] == "b.test"
    assert _signed_by(keys, pair.b) and _signed_by(keys, pair.a)
    # Answered from the cache the second time.
    pair.a.request("GET", f"{QUERY}/b.test")
    assert pair.requests.count(("a.test", "b.test", "GET", KEY_PATH)) == 1


def test_minimum_valid_until_ts_forces_a_refetch(pair: FederationPair) -> None:
    pair.a.request("GET", f"{QUERY}/b.test")
    later = pair.a.hs.core.clock.time_msec() + 2 * 24 * 3600 * 1000
    # Not straight away: b.test was asked moments ago (key_refetch_interval,
    # 30 s by default), and anyone may call this endpoint.
    resp = pair.a.request("GET", f"{QUERY}/b.test?minimum_valid_until_ts={later}")
    assert resp.code == 200
    assert pair.requests.count(("a.test", "b.test", "GET", KEY_PATH)) == 1
    pair.pump(31)
    resp = pair.a.request("GET", f"{QUERY}/b.test?minimum_valid_until_ts={later}")
    assert resp.code == 200
    assert pair.requests.count(("a.test", "b.test", "GET", KEY_PATH)) == 2


def test_unreachable_server_is_answered_from_the_cache(pair: FederationPair) -> None:
    pair.a.request("GET", f"{QUERY}/b.test")
    pair.set_reachable("b.test", False)
    pair.pump(3 * 24 * 3600)
    [keys] = pair.a.request("GET", f"{QUERY}/b.test").json["server_keys"]
    assert keys["server_name"] == "b.test"
    assert pair.a.request("GET", f"{QUERY}/c.test").json == {"server_keys": []}


def test_batch_query(make_federation: Callable[[], Federation]) -> None:
    fed = make_federation()
    a = fed.add_server("a.test")
    b = fed.add_server("b.test")
    c = fed.add_server("c.test")
    resp = a.request(
        "POST",
        QUERY,
        {
            "server_keys": {
                "b.test": {"ed25519:k1": {"minimum_valid_until_ts": 0}},
                "c.test": {},
                "a.test": {},
                "gone.test": {},
            }
        },
    )
    assert resp.code == 200, resp.json
    by_name = {keys["server_name"]: keys for keys in resp.json["server_keys"]}
    assert set(by_name) == {"a.test", "b.test", "c.test"}
    for server in (a, b, c):
        assert _signed_by(by_name[server.config.server.server_name], server)
        assert _signed_by(by_name[server.config.server.server_name], a)
    assert a.request("POST", QUERY, {"server_keys": {}}).json == {"server_keys": []}


def test_bad_batch_queries(pair: FederationPair) -> None:
    # An absent required field is M_MISSING_PARAM (spec "Common error codes"),
    # a wrong shape M_BAD_JSON.
    for body, errcode in (
        ({}, "M_MISSING_PARAM"),
        ({"server_keys": []}, "M_BAD_JSON"),
        ({"server_keys": {"b.test": []}}, "M_BAD_JSON"),
    ):
        resp = pair.a.request("POST", QUERY, body)
        assert resp.code == 400, body
        assert resp.json["errcode"] == errcode
