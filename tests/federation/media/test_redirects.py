"""A remote's multipart answer may point elsewhere with ``Location``: the
fetcher follows it with the SSRF-guarded client, on a real reactor against
real local HTTP servers that count their connections. Denied addresses are
never connected to, neither the Location itself nor a redirect from it.

The remote's signed answer comes from a stand-in ``MediaTransport`` (the
network boundary of this test); everything after it is the real fetcher and
the real untrusted client."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from twisted.internet import defer
from twisted.internet.selectreactor import SelectReactor
from twisted.web.resource import Resource
from twisted.web.server import Request, Site

from homeserver.config.sections.federation import DEFAULT_IP_RANGE_BLACKLIST
from homeserver.errors import MatrixError
from homeserver.federation.interfaces import RawResponse
from homeserver.federation.media.fetch import FederationMediaFetcher
from homeserver.http_client.ip_filter import IpFilter
from homeserver.http_client.untrusted import UntrustedHttpClient
from homeserver.services.media.ports import FetchedMedia
from homeserver.storage.database import inline_runner


class _Files(Resource):
    isLeaf = True

    def __init__(self, redirect_to: str | None = None) -> None:
        super().__init__()
        self.redirect_to = redirect_to

    def render_GET(self, request: Request) -> bytes:  # noqa: N802 - Twisted
        if request.path == b"/hop" and self.redirect_to:
            request.redirect(self.redirect_to.encode())
            return b""
        if request.path == b"/big":
            return b"x" * 5000
        request.setHeader("Content-Type", "image/png")
        request.setHeader("Content-Disposition", 'inline; filename="cdn.png"')
        return b"\x89PNG from the cdn"


class _CountingSite(Site):
    connections = 0

    def buildProtocol(self, addr: Any) -> Any:  # noqa: N802 - Twisted
        self.connections += 1
        return super().buildProtocol(addr)


class _RedirectingRemote:
    """The remote's answer to the federation download: a Location part."""

    def __init__(self, location: str) -> None:
        self.location = location

    async def get_bytes(
        self,
        destination: str,
        path: str,
        query: Mapping[str, Any] | None = None,
        *,
        max_bytes: int,
        timeout_ms: int | None = None,
    ) -> RawResponse:
        body = (
            "--b\r\nContent-Type: application/json\r\n\r\n{}\r\n"
            f"--b\r\nLocation: {self.location}\r\n\r\n\r\n--b--\r\n"
        ).encode()
        return RawResponse(200, {"content-type": "multipart/mixed; boundary=b"}, body)


def _serve(reactor: Any, host: str, resource: Resource) -> tuple[_CountingSite, int]:
    site = _CountingSite(resource, reactor=reactor)
    port = reactor.listenTCP(0, site, interface=host).getHost().port
    return site, port


def _fetch(
    reactor: Any, location: str, whitelist: tuple[str, ...], max_bytes: int = 1000
) -> FetchedMedia | BaseException:
    fetcher = FederationMediaFetcher(
        transport=_RedirectingRemote(location),
        redirects=UntrustedHttpClient(
            reactor=reactor,
            ip_filter=IpFilter(DEFAULT_IP_RANGE_BLACKLIST, whitelist),
            max_body_bytes=max_bytes,
            timeout_s=10,
        ),
        runner=inline_runner,
        timeout_ms=10_000,
        allowed=lambda server: True,
    )
    outcome: list[Any] = []

    def go() -> None:
        d = defer.Deferred.fromCoroutine(
            fetcher.fetch_media("remote.test", "media1", max_bytes=max_bytes)
        )
        d.addBoth(outcome.append)
        d.addBoth(lambda _: reactor.callLater(0, reactor.stop))

    reactor.callWhenRunning(go)
    reactor.callLater(30, reactor.stop)  # a safety net, never the test's limit
    reactor.run(installSignalHandlers=False)
    assert outcome, "the fetch did not finish"
    result = outcome[0]
    return result.value if hasattr(result, "value") else result  # type: ignore[no-any-return]


def test_location_to_an_allowed_address_is_fetched() -> None:
    reactor = SelectReactor()
    site, port = _serve(reactor, "127.0.0.1", _Files())
    result = _fetch(reactor, f"http://127.0.0.1:{port}/file", ("127.0.0.1/32",))
    assert isinstance(result, FetchedMedia), result
    assert result.data == b"\x89PNG from the cdn"
    assert result.media_type == "image/png"
    assert result.upload_name == "cdn.png"
    assert site.connections == 1


def test_location_to_a_denied_address_is_never_connected_to() -> None:
    reactor = SelectReactor()
    site, port = _serve(reactor, "127.0.0.1", _Files())
    result = _fetch(reactor, f"http://127.0.0.1:{port}/file", ())
    assert isinstance(result, MatrixError) and result.code == 502
    assert site.connections == 0


def test_a_redirect_from_the_location_to_a_denied_address_is_not_followed() -> None:
    reactor = SelectReactor()
    inside, inside_port = _serve(reactor, "127.0.0.2", _Files())
    cdn, cdn_port = _serve(
        reactor, "127.0.0.1", _Files(f"http://127.0.0.2:{inside_port}/file")
    )
    result = _fetch(reactor, f"http://127.0.0.1:{cdn_port}/hop", ("127.0.0.1/32",))
    assert isinstance(result, MatrixError) and result.code == 502
    assert (cdn.connections, inside.connections) == (1, 0)


def test_a_location_body_over_the_size_limit_is_refused() -> None:
    reactor = SelectReactor()
    _, port = _serve(reactor, "127.0.0.1", _Files())
    result = _fetch(
        reactor, f"http://127.0.0.1:{port}/big", ("127.0.0.1/32",), max_bytes=1000
    )
    assert isinstance(result, MatrixError) and result.code == 502
