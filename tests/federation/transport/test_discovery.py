"""Server name resolution (spec "Resolving server names") with fake DNS and
.well-known answers, the SSRF address filter, and outbound refusals."""

from __future__ import annotations

from typing import Any

import pytest
from signedjson.key import generate_signing_key
from twisted.internet.testing import MemoryReactorClock, StringTransport

from homeserver.config import parse_config
from homeserver.federation.errors import RequestSendFailed
from homeserver.federation.transport.client import FederationClient
from homeserver.federation.transport.discovery import (
    Route,
    ServerResolver,
    split_server_name,
)
from homeserver.http_client.ip_filter import IpFilter
from homeserver.util.clock import Clock


class FakeNet:
    """SRV records and .well-known answers; records every lookup."""

    def __init__(self) -> None:
        self.srv_records: dict[str, list[tuple[str, int]]] = {}
        self.well_known: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.lookups: list[str] = []

    async def srv(self, name: str) -> list[tuple[str, int]]:
        self.lookups.append(f"SRV {name}")
        return self.srv_records.get(name, [])

    async def fetch(self, host: str) -> tuple[int, dict[str, str], bytes]:
        self.lookups.append(f"WK {host}")
        if host not in self.well_known:
            raise ConnectionRefusedError(host)
        return self.well_known[host]


def _resolver() -> tuple[ServerResolver, FakeNet, MemoryReactorClock]:
    net = FakeNet()
    reactor = MemoryReactorClock()
    return ServerResolver(Clock(reactor), net.srv, net.fetch), net, reactor


def _resolve(resolver: ServerResolver, name: str) -> Route:
    results: list[Any] = []
    from twisted.internet import defer

    defer.ensureDeferred(resolver.resolve(name)).addBoth(results.append)
    assert results, "resolution did not finish"
    if isinstance(results[0], Exception) or hasattr(results[0], "raiseException"):
        results[0].raiseException()
    return results[0]  # type: ignore[no-any-return]


def _wk(delegated: str, cache_control: str | None = None) -> Any:
    headers = {"cache-control": cache_control} if cache_control else {}
    return (200, headers, f'{{"m.server": "{delegated}"}}'.encode())


@pytest.mark.parametrize(
    ("name", "route"),
    [
        ("1.2.3.4", Route("1.2.3.4", "1.2.3.4", (("1.2.3.4", 8448),))),
        ("1.2.3.4:99", Route("1.2.3.4:99", "1.2.3.4", (("1.2.3.4", 99),))),
        ("[::1]", Route("[::1]", "::1", (("::1", 8448),))),
        (
            "[2001:db8::5]:7",
            Route("[2001:db8::5]:7", "2001:db8::5", (("2001:db8::5", 7),)),
        ),
        (
            "example.com:1234",
            Route("example.com:1234", "example.com", (("example.com", 1234),)),
        ),
    ],
)
def test_ip_literals_and_explicit_ports_need_no_lookups(
    name: str, route: Route
) -> None:
    resolver, net, _ = _resolver()
    assert _resolve(resolver, name) == route
    assert net.lookups == []


def test_well_known_delegation_to_host_and_port() -> None:
    resolver, net, _ = _resolver()
    net.well_known["example.com"] = _wk("matrix.example.com:443")
    assert _resolve(resolver, "example.com") == Route(
        "matrix.example.com:443", "matrix.example.com", (("matrix.example.com", 443),)
    )


def test_well_known_delegation_to_an_ip() -> None:
    resolver, net, _ = _resolver()
    net.well_known["example.com"] = _wk("5.6.7.8")
    assert _resolve(resolver, "example.com") == Route(
        "5.6.7.8", "5.6.7.8", (("5.6.7.8", 8448),)
    )


def test_well_known_delegation_then_srv() -> None:
    resolver, net, _ = _resolver()
    net.well_known["example.com"] = _wk("matrix.example.com")
    net.srv_records["_matrix-fed._tcp.matrix.example.com"] = [("srv.example.net", 8000)]
    route = _resolve(resolver, "example.com")
    # Host header and certificate name: the delegated name, not the SRV target.
    assert route == Route(
        "matrix.example.com", "matrix.example.com", (("srv.example.net", 8000),)
    )


def test_deprecated_srv_is_the_fallback() -> None:
    resolver, net, _ = _resolver()
    net.srv_records["_matrix._tcp.example.com"] = [("old.example.com", 8009)]
    route = _resolve(resolver, "example.com")
    assert route == Route("example.com", "example.com", (("old.example.com", 8009),))
    assert net.lookups == [
        "WK example.com",
        "SRV _matrix-fed._tcp.example.com",
        "SRV _matrix._tcp.example.com",
    ]


def test_srv_without_well_known_keeps_the_server_name() -> None:
    resolver, net, _ = _resolver()
    net.srv_records["_matrix-fed._tcp.example.com"] = [
        ("a.example.net", 1),
        ("b.example.net", 2),
    ]
    route = _resolve(resolver, "example.com")
    assert route == Route(
        "example.com", "example.com", (("a.example.net", 1), ("b.example.net", 2))
    )


def test_default_port() -> None:
    resolver, _, _ = _resolver()
    assert _resolve(resolver, "example.com") == Route(
        "example.com", "example.com", (("example.com", 8448),)
    )


@pytest.mark.parametrize(
    "answer",
    [
        (404, {}, b"{}"),
        (200, {}, b"not json"),
        (200, {}, b'{"m.server": 5}'),
        (200, {}, b'{"m.server": "bad host:x"}'),
        (200, {}, b"{}"),
    ],
)
def test_invalid_well_known_falls_through(answer: Any) -> None:
    resolver, net, _ = _resolver()
    net.well_known["example.com"] = answer
    assert _resolve(resolver, "example.com").targets == (("example.com", 8448),)


def test_well_known_is_cached_per_cache_control() -> None:
    resolver, net, reactor = _resolver()
    net.well_known["example.com"] = _wk("m.example.com:1", "max-age=600")
    _resolve(resolver, "example.com")
    _resolve(resolver, "example.com")
    assert net.lookups.count("WK example.com") == 1
    reactor.advance(601)
    _resolve(resolver, "example.com")
    assert net.lookups.count("WK example.com") == 2


def test_well_known_default_cache_is_a_day_and_errors_an_hour() -> None:
    resolver, net, reactor = _resolver()
    net.well_known["example.com"] = _wk("m.example.com:1")
    _resolve(resolver, "example.com")
    _resolve(resolver, "down.example")
    reactor.advance(3601)
    _resolve(resolver, "example.com")
    _resolve(resolver, "down.example")
    assert net.lookups.count("WK example.com") == 1
    assert net.lookups.count("WK down.example") == 2
    reactor.advance(24 * 3600)
    _resolve(resolver, "example.com")
    assert net.lookups.count("WK example.com") == 2


@pytest.mark.parametrize(
    "name",
    [
        "",
        "a b",
        "[::1",
        "host:0",
        "host:99999",
        "host:x",
        # No top-level domain is all digits: these are IPv4 addresses in
        # other notations (resolvers accept them), not DNS names.
        "2130706433",
        "2130706433:8448",
        "127.1",
        "0177.0.0.1",
        "example.123",
        "a..b",
    ],
)
def test_bad_server_names(name: str) -> None:
    with pytest.raises(ValueError):
        split_server_name(name)


# -- SSRF ----------------------------------------------------------------------
DEFAULTS = parse_config({"server": {"server_name": "a.test"}}).federation


@pytest.mark.parametrize(
    ("ip", "allowed"),
    [
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("192.168.0.1", False),
        ("169.254.1.1", False),
        ("::1", False),
        ("fe80::1", False),
        ("fd00::1", False),
        ("::ffff:127.0.0.1", False),  # IPv4-mapped loopback
        ("::ffff:10.0.0.1", False),
        ("8.8.8.8", True),
        ("2a00:1450::1", True),
    ],
)
def test_default_blacklist(ip: str, allowed: bool) -> None:
    ip_filter = IpFilter(DEFAULTS.ip_range_blacklist, DEFAULTS.ip_range_whitelist)
    assert ip_filter.allowed(ip) is allowed


def test_whitelist_overrides_blacklist() -> None:
    ip_filter = IpFilter(DEFAULTS.ip_range_blacklist, ["127.0.0.0/8"])
    assert ip_filter.allowed("127.0.0.1")
    assert ip_filter.allowed("::ffff:127.0.0.1")
    assert not ip_filter.allowed("10.0.0.1")


def _client(federation: dict[str, Any], resolve: Any) -> tuple[FederationClient, Any]:
    reactor = MemoryReactorClock()
    config = parse_config(
        {"server": {"server_name": "a.test"}, "federation": federation}
    ).federation

    async def no_srv(name: str) -> list[tuple[str, int]]:
        return []

    client = FederationClient(
        server_name="a.test",
        signing_key=generate_signing_key("k"),
        config=config,
        reactor=reactor,
        clock=Clock(reactor),
        resolve_host=resolve,
        srv=no_srv,
    )
    return client, reactor


def _fail(
    client: FederationClient, reactor: Any, destination: str
) -> RequestSendFailed:
    from twisted.internet import defer

    results: list[Any] = []
    d = defer.ensureDeferred(
        client.get_json(destination, "/_matrix/federation/v1/version")
    )
    d.addBoth(results.append)
    reactor.advance(0)
    assert results, "request did not finish"
    failure = results[0]
    assert failure.check(RequestSendFailed), failure
    return failure.value  # type: ignore[no-any-return]


def test_hostnames_resolving_to_blacklisted_addresses_are_refused() -> None:
    async def resolve(host: str) -> list[str]:
        return ["10.0.0.7", "127.0.0.1"]

    client, reactor = _client({}, resolve)
    error = _fail(client, reactor, "internal.example:8448")
    assert error.retriable is False
    assert reactor.tcpClients == []  # nothing was even attempted


def test_blacklisted_ip_literals_are_refused() -> None:
    async def resolve(host: str) -> list[str]:
        raise AssertionError("no lookup for an IP literal")

    client, reactor = _client({}, resolve)
    assert _fail(client, reactor, "192.168.1.1:8448").retriable is False
    assert _fail(client, reactor, "[::1]:8448").retriable is False
    assert reactor.tcpClients == []


def test_well_known_fetch_is_blacklist_checked() -> None:
    async def resolve(host: str) -> list[str]:
        return ["127.0.0.1"]

    client, reactor = _client({}, resolve)
    _fail(client, reactor, "example.com")
    assert reactor.tcpClients == []


def test_only_whitelisted_domains_are_contacted() -> None:
    async def resolve(host: str) -> list[str]:
        raise AssertionError("not even resolved")

    client, reactor = _client({"domain_whitelist": ["b.test"]}, resolve)
    assert _fail(client, reactor, "c.test").retriable is False


def test_allowed_address_is_connected_to() -> None:
    async def resolve(host: str) -> list[str]:
        return ["10.0.0.7", "93.184.216.34"]

    client, reactor = _client({}, resolve)
    from twisted.internet import defer

    defer.ensureDeferred(client.get_json("example.org:8448", "/x"))
    reactor.advance(0)
    assert [(host, port) for host, port, *_ in reactor.tcpClients] == [
        ("93.184.216.34", 8448)
    ]


def test_all_digit_server_names_fail_before_any_lookup() -> None:
    """``2130706433`` resolves to 127.0.0.1, but no certificate can name it:
    TLS refused it only after connecting, and the request hung until its
    timeout. It is refused at once, even where loopback is allowed."""
    looked_up: list[str] = []

    async def resolve(host: str) -> list[str]:
        looked_up.append(host)
        return ["127.0.0.1"]

    client, reactor = _client({"ip_range_whitelist": ["127.0.0.0/8"]}, resolve)
    for name in ("2130706433", "2130706433:8448", "127.1:8448"):
        error = _fail(client, reactor, name)
        assert error.retriable is False
    assert looked_up == []
    assert reactor.tcpClients == []


class _AbortableTransport(StringTransport):
    aborted = False

    def setTcpNoDelay(self, enabled: bool) -> None:  # noqa: N802
        pass

    def abortConnection(self) -> None:  # noqa: N802 - Twisted interface
        self.aborted = True
        self.loseConnection()


def test_a_stalled_tls_handshake_fails_at_the_connect_timeout() -> None:
    """An address that accepts the TCP connection and never answers the TLS
    handshake costs ``connect_timeout``, not the whole request timeout."""

    async def resolve(host: str) -> list[str]:
        return ["93.184.216.34"]

    client, reactor = _client(
        {"connect_timeout": "2s", "request_timeout": "60s"}, resolve
    )
    from twisted.internet import defer

    results: list[Any] = []
    defer.ensureDeferred(client.get_json("example.org:8448", "/x")).addBoth(
        results.append
    )
    reactor.advance(0)
    (host, port, factory, timeout, _), *_ = reactor.tcpClients
    assert (host, port, timeout) == ("93.184.216.34", 8448, 2)
    transport = _AbortableTransport()
    factory.buildProtocol(None).makeConnection(transport)
    assert transport.value()  # the ClientHello went out; nothing comes back
    reactor.advance(1.9)
    assert not results
    reactor.advance(0.2)
    assert transport.aborted
    assert results and results[0].check(RequestSendFailed), results
