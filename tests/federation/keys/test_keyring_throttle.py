"""The key ring against unreachable, silent and misbehaving servers: one
request for concurrent lookups, no refetch of a server asked moments ago, no
second search for a key found nowhere, and a short timeout for key fetches."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from signedjson.key import generate_signing_key
from signedjson.sign import SignatureVerifyException
from twisted.internet import defer
from twisted.internet.protocol import Protocol

from homeserver.events.signing import sign_json
from homeserver.util.deadlines import MAX_DEADLINES, Deadlines
from tests.federation.pair import Federation, FederationPair
from tests.support.server import TestServer

KEY_PATH = "/_matrix/key/v2/server"


def _key_fetches(fed: Federation, origin: str, destination: str) -> int:
    return fed.requests.count((origin, destination, "GET", KEY_PATH))


def _start_verify(server: TestServer, origin: str, obj: Any) -> defer.Deferred[None]:
    keyring = server.hs.federation.keys.keyring
    now = server.hs.core.clock.time_msec()
    return defer.ensureDeferred(keyring.verify_json_for_server(origin, obj, now))


def _verify_fails(server: TestServer, origin: str, obj: Any) -> None:
    with pytest.raises(SignatureVerifyException):
        server.get_success(_start_verify(server, origin, obj))


def test_an_unreachable_server_is_not_asked_again_straight_away(
    pair: FederationPair,
) -> None:
    obj = sign_json({"a": 1}, "b.test", pair.b.signing_key)
    pair.set_reachable("b.test", False)
    _verify_fails(pair.a, "b.test", obj)
    _verify_fails(pair.a, "b.test", obj)
    _verify_fails(pair.a, "b.test", obj)
    assert _key_fetches(pair, "a.test", "b.test") == 1

    # Back, and the refetch interval (30 s by default) is over: asked again.
    pair.set_reachable("b.test", True)
    pair.pump(31)
    pair.a.get_success(_start_verify(pair.a, "b.test", obj))
    assert _key_fetches(pair, "a.test", "b.test") == 2


def test_concurrent_lookups_share_one_request(pair: FederationPair) -> None:
    obj = sign_json({"a": 1}, "b.test", pair.b.signing_key)
    waiting = [_start_verify(pair.a, "b.test", obj) for _ in range(5)]
    assert not any(d.called for d in waiting)
    for d in waiting:
        pair.a.get_success(d)
    assert _key_fetches(pair, "a.test", "b.test") == 1


def test_made_up_key_ids_cost_one_fetch(pair: FederationPair) -> None:
    # A server (or someone claiming to be it) signing with keys it never
    # published: b.test is asked once, not once per key or per request.
    for i in range(5):
        bogus = sign_json({"a": i}, "b.test", generate_signing_key(f"bogus{i}"))
        _verify_fails(pair.a, "b.test", bogus)
        _verify_fails(pair.a, "b.test", bogus)
    assert _key_fetches(pair, "a.test", "b.test") == 1
    # Its real key still works, from the one answer.
    real = sign_json({"a": 1}, "b.test", pair.b.signing_key)
    pair.a.get_success(_start_verify(pair.a, "b.test", real))
    assert _key_fetches(pair, "a.test", "b.test") == 1


def test_a_key_found_nowhere_is_not_looked_for_through_notaries_again(
    make_federation: Callable[[], Federation],
) -> None:
    fed = make_federation()
    trusted = {"server_name": "n.test"}
    a = fed.add_server("a.test", {"federation": {"trusted_key_servers": [trusted]}})
    fed.add_server("b.test")
    fed.add_server("n.test")
    bogus = sign_json({"a": 1}, "b.test", generate_signing_key("nope"))
    for _ in range(3):
        _verify_fails(a, "b.test", bogus)
    assert (
        fed.requests.count(("a.test", "n.test", "POST", "/_matrix/key/v2/query")) == 1
    )
    fed.pump(31)
    _verify_fails(a, "b.test", bogus)
    assert (
        fed.requests.count(("a.test", "n.test", "POST", "/_matrix/key/v2/query")) == 2
    )


class _Silent(Protocol):
    """A server that accepts the connection and never answers."""


class _SilentSite:
    def buildProtocol(self, addr: Any) -> Protocol:  # noqa: N802 - Twisted interface
        return _Silent()


class _NoDatabase:
    def close(self) -> None:
        pass


class _SilentServer:
    site = _SilentSite()
    db = _NoDatabase()


def test_key_fetches_time_out_sooner_than_requests(
    make_federation: Callable[[], Federation],
) -> None:
    fed = make_federation()
    a = fed.add_server("a.test", {"federation": {"key_fetch_timeout": "5s"}})
    fed.servers["silent.test"] = _SilentServer()  # type: ignore[assignment]
    obj = sign_json({"a": 1}, "silent.test", generate_signing_key("k1"))
    pending = _start_verify(a, "silent.test", obj)
    fed.pump(4.9)
    assert not pending.called
    fed.pump(0.2)  # well before request_timeout (60 s)
    assert pending.called
    with pytest.raises(SignatureVerifyException):
        a.get_success(pending)
    assert a.hs.federation.keys.keyring.fetch_timeout_ms == 5000


def test_deadlines_stay_bounded() -> None:
    deadlines: Deadlines[str] = Deadlines()
    for i in range(MAX_DEADLINES + 50):
        deadlines.set(f"s{i}.test", 1_000 + i, now_ms=0)
    assert len(deadlines) <= MAX_DEADLINES
    assert not deadlines.passed(f"s{MAX_DEADLINES + 49}.test", 0)
    # Once they have expired, they are dropped to make room.
    deadlines.set("late.test", 10_000_000, now_ms=9_000_000)
    assert len(deadlines) == 1
    assert deadlines.passed("s1.test", 9_000_000)
