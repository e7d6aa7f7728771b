"""Real-network checks of the outbound client, run in a subprocess by
test_client_tls.py (they need the global Twisted reactor running).

``python -m tests.federation.transport.tls_scenarios <scenario> <tmp dir>`` serves
b.test's site over TLS on 127.0.0.1 (self-signed certificate from
``generate_self_signed``), runs one client scenario against it and prints one
JSON line: ``{"ok": <result>}`` or ``{"error": <class>, "retriable": ...}``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from twisted.internet import defer, ssl

from homeserver.config import parse_config
from homeserver.config.tls import generate_self_signed
from homeserver.federation.errors import HttpResponseError, RequestSendFailed
from homeserver.federation.transport.client import FederationClient
from homeserver.federation.transport.connect import reactor_host_resolver
from homeserver.storage.engines import SqliteEngine
from homeserver.util.clock import Clock
from tests.federation.pair import FederationPair, add_test_endpoint
from tests.federation.transport.test_inbound_auth import PROBE, AuthProbe

VERSION = "/_matrix/federation/v1/version"
LOOPBACK_OK = {"ip_range_whitelist": ["127.0.0.0/8"], "verify_certificates": False}
STRICT = {"ip_range_whitelist": ["127.0.0.0/8"]}
BIG = "/_matrix/federation/v1/test_big_answer"
BIG_BYTES = 300_000


class BigAnswer:
    """Answers with a JSON body of about ``BIG_BYTES`` bytes."""

    PATTERNS = [BIG]

    async def on_GET(self, request: Any) -> Any:
        return {"data": "x" * BIG_BYTES}


def _client(
    reactor: Any, pair: FederationPair, port: int, federation: dict[str, Any], **kw: Any
) -> FederationClient:
    config = parse_config(
        {"server": {"server_name": "a.test"}, "federation": federation}
    ).federation

    async def resolve_host(host: str) -> list[str]:
        if host == "b.test":
            return ["127.0.0.1"]
        raise RequestSendFailed(f"no such host {host}")

    async def srv(name: str) -> list[tuple[str, int]]:
        return [("b.test", port)] if name == "_matrix-fed._tcp.b.test" else []

    kw.setdefault("resolve_host", resolve_host)
    kw.setdefault("srv", srv)
    return FederationClient(
        "a.test", pair.a.signing_key, config, reactor, Clock(reactor), **kw
    )


def _scenarios(
    reactor: Any, pair: FederationPair, port: int, certificate: Any
) -> dict[str, Callable[[], Coroutine[Any, Any, Any]]]:
    def no_lookups(*_: Any) -> Any:
        raise AssertionError("an IP literal needs no lookups")

    async def signed() -> Any:
        client = _client(reactor, pair, port, LOOPBACK_OK)
        probe = await client.put_json("b.test", PROBE, {"x": 1}, {"q": "a b!"})
        version = await client.get_json("b.test", VERSION)
        try:
            await client.get_json("b.test", "/_matrix/federation/v1/nope")
            missing = None
        except HttpResponseError as exc:
            missing = exc.code
        return [probe, version["server"]["name"], missing]

    async def strict() -> Any:
        return await _client(reactor, pair, port, STRICT).get_json("b.test", VERSION)

    async def trusted() -> Any:
        client = _client(reactor, pair, port, STRICT, trust_root=certificate)
        return (await client.get_json("b.test", VERSION))["server"]["name"]

    async def blacklisted() -> Any:
        client = _client(reactor, pair, port, {"verify_certificates": False})
        return await client.get_json("b.test", VERSION)

    async def ip_literal() -> Any:
        client = _client(
            reactor, pair, port, LOOPBACK_OK, resolve_host=no_lookups, srv=no_lookups
        )
        body = await client.get_json(
            f"127.0.0.1:{port}", "/_matrix/key/v2/server", signed=False
        )
        return body["server_name"]

    async def too_large() -> Any:
        client = _client(reactor, pair, port, LOOPBACK_OK, max_response_bytes=100_000)
        return await client.get_json("b.test", BIG)

    async def large_enough() -> Any:
        client = _client(reactor, pair, port, LOOPBACK_OK, max_response_bytes=400_000)
        return len((await client.get_json("b.test", BIG))["data"])

    async def all_digits() -> Any:
        # 2130706433 is 127.0.0.1 to the system resolver; TLS cannot check a
        # certificate for it. Refused before any lookup, so it cannot hang.
        client = _client(
            reactor, pair, port, STRICT, resolve_host=reactor_host_resolver(reactor)
        )
        started = reactor.seconds()
        try:
            await client.get_json(f"2130706433:{port}", VERSION)
        finally:
            print(json.dumps({"took": reactor.seconds() - started}), flush=True)

    return {
        "all_digits": all_digits,
        "too_large": too_large,
        "large_enough": large_enough,
        "signed": signed,
        "strict": strict,
        "trusted": trusted,
        "blacklisted": blacklisted,
        "ip_literal": ip_literal,
    }


def main(scenario: str, tmp: Path) -> None:
    """Run one scenario and print its outcome."""
    from twisted.internet import reactor

    pair = FederationPair(lambda: SqliteEngine(str(tmp / f"{id(object())}.db")), tmp)
    pair.b.get_success(pair.b.hs.federation.keyring.fetch_direct("a.test"))
    add_test_endpoint(pair.b, AuthProbe(pair.b.hs.federation.authenticator))
    add_test_endpoint(pair.b, BigAnswer())
    cert, key = tmp / "b.crt", tmp / "b.key"
    generate_self_signed(cert, key, "b.test")
    options = ssl.PrivateCertificate.loadPEM(cert.read_bytes() + key.read_bytes())
    listening = reactor.listenSSL(  # type: ignore[attr-defined]
        0, pair.b.site, options.options(), interface="127.0.0.1"
    )
    certificate = ssl.Certificate.loadPEM(cert.read_bytes())
    run = _scenarios(reactor, pair, listening.getHost().port, certificate)[scenario]

    async def go() -> None:
        try:
            outcome: dict[str, Any] = {"ok": await run()}
        except Exception as exc:
            outcome = {
                "error": type(exc).__name__,
                "message": str(exc),
                "retriable": getattr(exc, "retriable", None),
            }
        print(json.dumps(outcome), flush=True)
        reactor.stop()  # type: ignore[attr-defined]

    reactor.callWhenRunning(lambda: defer.ensureDeferred(go()))  # type: ignore[attr-defined]
    reactor.run()  # type: ignore[attr-defined]


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
