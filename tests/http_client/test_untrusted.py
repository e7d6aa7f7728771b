"""The client for untrusted URLs against real local HTTP servers: denied
addresses are never connected to (IP literals, DNS answers, redirects), the
allowlist overrides the denylist, and the size and time caps hold.

The servers are stdlib ``http.server`` instances in threads that count the
connections they accept; the client runs on a fresh Twisted reactor per test.
Hostnames are resolved by Twisted's hosts-file resolver (``twisted.names``)
reading a file with fixed answers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from twisted.internet import defer
from twisted.internet._resolver import SimpleResolverComplexifier
from twisted.internet.selectreactor import SelectReactor
from twisted.internet.ssl import Certificate, PrivateCertificate
from twisted.names import hosts
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.web.resource import Resource
from twisted.web.server import Site
from twisted.web.static import Data

from homeserver.config import ConfigError, parse_config
from homeserver.config.model import DEFAULT_IP_RANGE_BLACKLIST
from homeserver.config.tls import generate_self_signed
from homeserver.http_client.ip_filter import IpFilter
from homeserver.http_client.untrusted import (
    DeniedAddressError,
    DeniedUrlError,
    OutboundRequestError,
    OutboundResponse,
    UntrustedHttpClient,
    hostname_resolver,
    preview_client,
)
from tests.support.counting_http import (
    CountingServer,
    redirect_route,
    serve_servers,
    text_route,
)

_text = text_route
_redirect = redirect_route


@pytest.fixture
def serve() -> Iterator[Callable[..., CountingServer]]:
    yield from serve_servers()


def _fetch(
    url: str,
    *,
    whitelist: tuple[str, ...] = (),
    hosts_file: Path | None = None,
    **kwargs: Any,
) -> OutboundResponse | BaseException:
    """GET ``url`` on a fresh reactor; the response or the exception."""
    reactor = SelectReactor()
    resolve = kwargs.pop("resolve_host", None)
    if hosts_file is not None:
        resolver: Any = hosts.Resolver(file=str(hosts_file).encode())
        resolve = hostname_resolver(SimpleResolverComplexifier(resolver))
    client = UntrustedHttpClient(
        reactor=reactor,
        ip_filter=IpFilter(DEFAULT_IP_RANGE_BLACKLIST, whitelist),
        resolve_host=resolve,
        **kwargs,
    )
    return _run(reactor, client, url)


def _run(
    reactor: Any, client: UntrustedHttpClient, url: str
) -> OutboundResponse | BaseException:
    outcome: list[Any] = []

    def go() -> None:
        d = defer.Deferred.fromCoroutine(client.get(url))
        d.addBoth(outcome.append)
        d.addBoth(lambda _: reactor.callLater(0, reactor.stop))

    reactor.callWhenRunning(go)
    reactor.callLater(30, reactor.stop)  # a safety net, never the test's limit
    reactor.run(installSignalHandlers=False)
    assert outcome, "the request did not finish"
    result = outcome[0]
    if hasattr(result, "value"):
        return result.value  # type: ignore[no-any-return]
    return result  # type: ignore[no-any-return]


def test_loopback_literal_refused_without_a_connection(serve: Any) -> None:
    server = serve(page=_text(b"secret"))
    result = _fetch(f"http://127.0.0.1:{server.port}/page")
    assert isinstance(result, DeniedAddressError)
    assert server.connections == 0


def test_loopback_allowed_when_allowlisted(serve: Any) -> None:
    server = serve(page=_text(b"hello"))
    result = _fetch(f"http://127.0.0.1:{server.port}/page", whitelist=("127.0.0.1",))
    assert isinstance(result, OutboundResponse), result
    assert (result.code, result.body) == (200, b"hello")
    assert server.connections == 1


def test_ipv6_loopback_literal_refused_without_a_connection(serve: Any) -> None:
    server = serve("::1", page=_text(b"secret"))
    result = _fetch(f"http://[::1]:{server.port}/page")
    assert isinstance(result, DeniedAddressError)
    assert server.connections == 0
    result = _fetch(f"http://[::1]:{server.port}/page", whitelist=("::1/128",))
    assert isinstance(result, OutboundResponse), result
    assert result.body == b"secret"


def test_only_the_allowed_answers_of_a_hostname_are_connected_to(
    serve: Any, tmp_path: Path
) -> None:
    for _ in range(20):  # one port on both addresses; another process may hold it
        denied = serve("127.0.0.2", page=_text(b"secret"))
        try:
            allowed = serve("127.0.0.1", denied.port, page=_text(b"public"))
            break
        except OSError:
            continue
    else:
        pytest.fail("no port free on both 127.0.0.1 and 127.0.0.2")
    hosts_file = tmp_path / "hosts"
    hosts_file.write_text("127.0.0.2 mixed.example\n127.0.0.1 mixed.example\n")
    resolver = hosts.Resolver(file=str(hosts_file).encode())

    async def every_a_record(name: str) -> list[str]:
        # getHostByName gives one answer; the A lookup gives them all.
        answers, _, _ = await resolver.lookupAddress(name)
        return [answer.payload.dottedQuad() for answer in answers]

    result = _fetch(
        f"http://mixed.example:{denied.port}/page",
        whitelist=("127.0.0.1/32",),
        resolve_host=every_a_record,
    )
    assert isinstance(result, OutboundResponse), result
    assert result.body == b"public"
    assert (denied.connections, allowed.connections) == (0, 1)


def test_https_with_the_certificate_checked(tmp_path: Path) -> None:
    """TLS to an allowed address, the certificate checked against the name.
    The server is Twisted's, on the client's reactor."""
    cert, key = tmp_path / "c.crt", tmp_path / "c.key"
    generate_self_signed(cert, key, "secure.example")
    reactor = SelectReactor()
    root = Resource()
    root.putChild(b"page", Data(b"over tls", "text/plain"))  # type: ignore[arg-type]
    server_tls = PrivateCertificate.loadPEM(cert.read_bytes() + key.read_bytes())
    site = Site(root, reactor=reactor)
    tls_site = TLSMemoryBIOFactory(
        server_tls.options(),
        False,
        site,  # type: ignore[arg-type]
        clock=reactor,
    )
    listening = reactor.listenTCP(0, tls_site, interface="127.0.0.1")
    hosts_file = tmp_path / "hosts"
    hosts_file.write_text("127.0.0.1 secure.example\n")
    resolver: Any = hosts.Resolver(file=str(hosts_file).encode())
    client = UntrustedHttpClient(
        reactor=reactor,
        ip_filter=IpFilter(DEFAULT_IP_RANGE_BLACKLIST, ["127.0.0.1/32"]),
        resolve_host=hostname_resolver(SimpleResolverComplexifier(resolver)),
        tls_trust_root=Certificate.loadPEM(cert.read_bytes()),
    )
    port = listening.getHost().port
    result = _run(reactor, client, f"https://secure.example:{port}/page")
    assert isinstance(result, OutboundResponse), result
    assert result.body == b"over tls"

    # The same server under a name its certificate does not carry.
    reactor2 = SelectReactor()
    site2 = Site(root, reactor=reactor2)
    listening2 = reactor2.listenTCP(
        0,
        TLSMemoryBIOFactory(
            server_tls.options(),
            False,
            site2,  # type: ignore[arg-type]
            clock=reactor2,
        ),
        interface="127.0.0.1",
    )
    hosts_file.write_text("127.0.0.1 impostor.example\n")
    resolver2: Any = hosts.Resolver(file=str(hosts_file).encode())
    client2 = UntrustedHttpClient(
        reactor=reactor2,
        ip_filter=IpFilter(DEFAULT_IP_RANGE_BLACKLIST, ["127.0.0.1/32"]),
        resolve_host=hostname_resolver(SimpleResolverComplexifier(resolver2)),
        tls_trust_root=Certificate.loadPEM(cert.read_bytes()),
    )
    port2 = listening2.getHost().port
    refused = _run(reactor2, client2, f"https://impostor.example:{port2}/page")
    assert isinstance(refused, OutboundRequestError), refused
    assert "longer than" not in str(refused)


def test_unknown_hostname_fails_cleanly(tmp_path: Path) -> None:
    hosts_file = tmp_path / "hosts"
    hosts_file.write_text("127.0.0.1 known.example\n")
    result = _fetch("http://unknown.example/page", hosts_file=hosts_file)
    assert isinstance(result, OutboundRequestError)
    assert not isinstance(result, DeniedAddressError)
    assert "no addresses" in str(result)


def test_ipv4_mapped_ipv6_literal_refused() -> None:
    result = _fetch("http://[::ffff:127.0.0.1]:1/page")
    assert isinstance(result, DeniedAddressError)


def test_hostname_resolving_to_denied_address_refused(
    serve: Any, tmp_path: Path
) -> None:
    server = serve(page=_text(b"secret"))
    hosts_file = tmp_path / "hosts"
    hosts_file.write_text("127.0.0.1 innocent.example\n")
    result = _fetch(
        f"http://innocent.example:{server.port}/page", hosts_file=hosts_file
    )
    assert isinstance(result, DeniedAddressError)
    assert server.connections == 0


def test_hostname_resolving_to_allowlisted_address_fetched(
    serve: Any, tmp_path: Path
) -> None:
    server = serve(page=_text(b"hello"))
    hosts_file = tmp_path / "hosts"
    hosts_file.write_text("127.0.0.1 friendly.example\n")
    result = _fetch(
        f"http://friendly.example:{server.port}/page",
        hosts_file=hosts_file,
        whitelist=("127.0.0.1/32",),
    )
    assert isinstance(result, OutboundResponse), result
    assert result.body == b"hello"


def test_redirect_to_denied_address_refused(serve: Any, tmp_path: Path) -> None:
    target = serve("127.0.0.2", page=_text(b"secret"))
    start = serve(hop=_redirect(f"http://127.0.0.2:{target.port}/page"))
    result = _fetch(f"http://127.0.0.1:{start.port}/hop", whitelist=("127.0.0.1",))
    assert isinstance(result, DeniedAddressError)
    assert start.connections == 1
    assert target.connections == 0


def test_redirect_to_hostname_of_denied_address_refused(
    serve: Any, tmp_path: Path
) -> None:
    target = serve("127.0.0.2", page=_text(b"secret"))
    start = serve(hop=_redirect(f"http://internal.example:{target.port}/page"))
    hosts_file = tmp_path / "hosts"
    hosts_file.write_text("127.0.0.2 internal.example\n")
    result = _fetch(
        f"http://127.0.0.1:{start.port}/hop",
        whitelist=("127.0.0.1",),
        hosts_file=hosts_file,
    )
    assert isinstance(result, DeniedAddressError)
    assert target.connections == 0


def test_redirects_followed_to_allowed_targets(serve: Any) -> None:
    server = serve(a=_redirect("/b"), b=_text(b"landed"))
    result = _fetch(f"http://127.0.0.1:{server.port}/a", whitelist=("127.0.0.1",))
    assert isinstance(result, OutboundResponse), result
    assert result.body == b"landed"
    assert result.url.endswith("/b")


def test_redirect_loop_stops_after_the_limit(serve: Any) -> None:
    server = serve(loop=_redirect("/loop"))
    result = _fetch(f"http://127.0.0.1:{server.port}/loop", whitelist=("127.0.0.1",))
    assert isinstance(result, OutboundRequestError)
    assert "redirects" in str(result)
    assert server.connections == 6  # the first request and five redirects


def test_only_http_and_https() -> None:
    for url in ("file:///etc/passwd", "ftp://example.org/", "gopher://x/"):
        assert isinstance(_fetch(url), OutboundRequestError)


def test_body_over_the_cap_refused(serve: Any) -> None:
    server = serve(big=_text(b"x" * 5000))
    result = _fetch(
        f"http://127.0.0.1:{server.port}/big",
        whitelist=("127.0.0.1",),
        max_body_bytes=1000,
    )
    assert isinstance(result, OutboundRequestError)
    assert "1000 bytes" in str(result)


def test_body_without_length_over_the_cap_refused(serve: Any) -> None:
    def stream(handler: BaseHTTPRequestHandler) -> None:
        handler.protocol_version = "HTTP/1.0"
        handler.send_response(200)
        handler.end_headers()
        try:
            for _ in range(100):
                handler.wfile.write(b"y" * 1000)
        except OSError:
            pass  # the client hung up, as it should

    server = serve(stream=stream)
    result = _fetch(
        f"http://127.0.0.1:{server.port}/stream",
        whitelist=("127.0.0.1",),
        max_body_bytes=1500,
    )
    assert isinstance(result, OutboundRequestError)


def test_slow_server_cut_off_at_the_time_cap(serve: Any) -> None:
    def slow(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(3)
        _text(b"late")(handler)

    server = serve(slow=slow)
    started = time.monotonic()
    result = _fetch(
        f"http://127.0.0.1:{server.port}/slow",
        whitelist=("127.0.0.1",),
        timeout_s=0.5,
    )
    assert isinstance(result, OutboundRequestError)
    assert "longer than" in str(result)
    assert time.monotonic() - started < 2.5


def _preview_config(**section: Any) -> Any:
    data = {"server": {"server_name": "example.com"}, "url_preview": section}
    return parse_config(data).url_preview


def test_preview_client_follows_the_url_preview_section(serve: Any) -> None:
    server = serve(page=_text(b"x" * 2000))
    url = f"http://127.0.0.1:{server.port}/page"
    denied = _preview_config()
    reactor = SelectReactor()
    assert isinstance(
        _run(reactor, preview_client(reactor, denied), url), DeniedAddressError
    )
    assert server.connections == 0
    allowed = _preview_config(ip_range_whitelist=["127.0.0.1"], max_spider_size="1K")
    reactor = SelectReactor()
    result = _run(reactor, preview_client(reactor, allowed), url)
    assert isinstance(result, OutboundRequestError)
    assert "1024 bytes" in str(result)
    assert server.connections == 1


def test_bad_ranges_rejected_by_the_config() -> None:
    with pytest.raises(ConfigError, match="ip_range_whitelist"):
        _preview_config(ip_range_whitelist=["not-a-network"])


def test_allow_url_is_asked_before_each_hop(serve: Any) -> None:
    server = serve(a=_redirect("/b"), b=_redirect("/c"), c=_text(b"end"))
    reactor = SelectReactor()
    client = UntrustedHttpClient(
        reactor=reactor, ip_filter=IpFilter(DEFAULT_IP_RANGE_BLACKLIST, ["127.0.0.1"])
    )
    asked: list[str] = []

    def allow(url: str) -> bool:
        asked.append(url.rsplit("/", 1)[1])
        return not url.endswith("/c")

    outcome: list[Any] = []

    def go() -> None:
        d = defer.Deferred.fromCoroutine(
            client.get(f"http://127.0.0.1:{server.port}/a", allow_url=allow)
        )
        d.addBoth(outcome.append)
        d.addBoth(lambda _: reactor.callLater(0, reactor.stop))

    reactor.callWhenRunning(go)
    reactor.callLater(30, reactor.stop)
    reactor.run(installSignalHandlers=False)
    assert outcome and isinstance(outcome[0].value, DeniedUrlError)
    assert asked == ["a", "b", "c"]
    assert (server.hits["/a"], server.hits["/b"], server.hits["/c"]) == (1, 1, 0)
