"""An HTTP client for URLs that users or remote parties choose: URL previews,
later push gateways and application services.

SSRF guards (issue 12, item 4): every address a hostname resolves to, and
every IP-literal URL, is checked against an ``IpFilter`` *before* any
connection is opened, so a denied address is never connected to. Redirects
are followed here (at most ``max_redirects``), each target resolved and
checked again. Only ``http`` and ``https``; the body is capped at
``max_body_bytes`` and the whole exchange, redirects included, at
``timeout_s``.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urljoin, urlsplit

import attrs
from twisted.internet import defer
from twisted.internet.endpoints import (
    TCP4ClientEndpoint,
    TCP6ClientEndpoint,
    wrapClientTLS,
)
from twisted.internet.interfaces import (
    IProtocolFactory,
    IResolutionReceiver,
    IStreamClientEndpoint,
)
from twisted.internet.protocol import Protocol
from twisted.internet.ssl import optionsForClientTLS
from twisted.python.failure import Failure
from twisted.web.client import Agent, HTTPConnectionPool, ResponseDone
from twisted.web.http import PotentialDataLoss
from twisted.web.http_headers import Headers
from twisted.web.iweb import IAgentEndpointFactory, IBodyProducer
from zope.interface import implementer

from homeserver.config.sections.outbound import UrlPreviewConfig
from homeserver.http_client.ip_filter import IpFilter

logger = logging.getLogger(__name__)

HostResolver = Callable[[str], Awaitable[list[str]]]
"""Resolves a hostname to its IP addresses (A and AAAA)."""

REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})


class OutboundRequestError(Exception):
    """The request could not be made or its answer was refused (bad URL,
    connection failure, too big, too slow, too many redirects)."""


class DeniedAddressError(OutboundRequestError):
    """Every address of the target is denied by the IP filter; nothing was
    connected to."""


class RequestTimedOutError(OutboundRequestError):
    """The exchange took longer than the client's time limit."""


class DeniedUrlError(OutboundRequestError):
    """The caller's ``allow_url`` refused the URL or a redirect target;
    nothing was sent there."""


@attrs.frozen(kw_only=True)
class OutboundResponse:
    """A complete answer: the final URL after redirects, status, headers and
    the whole body (at most ``max_body_bytes``)."""

    url: str
    code: int
    headers: Headers
    body: bytes


def hostname_resolver(resolver: Any) -> HostResolver:
    """Adapt a Twisted ``IHostnameResolver`` (``reactor.nameResolver``, or one
    configured with fixed answers in tests) to a ``HostResolver``."""

    async def resolve(host: str) -> list[str]:
        done: defer.Deferred[list[str]] = defer.Deferred()
        found: list[str] = []

        @implementer(IResolutionReceiver)
        class Receiver:
            def resolutionBegan(self, resolution: Any) -> None:  # noqa: N802
                pass

            def addressResolved(self, address: Any) -> None:  # noqa: N802
                if address.host not in found:
                    found.append(address.host)

            def resolutionComplete(self) -> None:  # noqa: N802
                done.callback(found)

        resolver.resolveHostName(Receiver(), host, 0)
        addresses = await done
        if not addresses:
            raise OutboundRequestError(f"{host} has no addresses")
        return addresses

    return resolve


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


@implementer(IStreamClientEndpoint)
class _FilteredEndpoint:
    """Resolves ``host``, drops denied addresses, then connects to the first
    allowed address that answers. Denied addresses are never connected to."""

    def __init__(
        self, client: UntrustedHttpClient, host: str, port: int, tls: bool
    ) -> None:
        self.client = client
        self.host = host
        self.port = port
        self.tls = tls

    def connect(self, protocol_factory: IProtocolFactory) -> defer.Deferred[Any]:
        return defer.Deferred.fromCoroutine(self._connect(protocol_factory))

    async def _connect(self, protocol_factory: IProtocolFactory) -> Any:
        client = self.client
        if _is_ip_literal(self.host):
            addresses = [self.host]
        else:
            addresses = await client.resolve_host(self.host)
        allowed = [ip for ip in addresses if client.ip_filter.allowed(ip)]
        if not allowed:
            logger.warning(
                "Not connecting to %s: every address is denied",
                self.host,
                extra={"addresses": addresses},
            )
            raise DeniedAddressError(f"{self.host}: every address is denied")
        last_error: Exception | None = None
        for ip in allowed:
            endpoint: Any
            if ipaddress.ip_address(ip).version == 6:
                endpoint = TCP6ClientEndpoint(
                    client.reactor, ip, self.port, client.timeout_s
                )
            else:
                endpoint = TCP4ClientEndpoint(
                    client.reactor, ip, self.port, client.timeout_s
                )
            if self.tls:
                endpoint = wrapClientTLS(
                    client.tls_options(self.host), endpoint, clock=client.reactor
                )
            try:
                return await endpoint.connect(protocol_factory)
            except Exception as exc:
                last_error = exc
        raise OutboundRequestError(f"could not connect to {self.host}: {last_error}")


@implementer(IAgentEndpointFactory)
class _EndpointFactory:
    def __init__(self, client: UntrustedHttpClient) -> None:
        self.client = client

    def endpointForURI(self, uri: Any) -> _FilteredEndpoint:  # noqa: N802
        host = uri.host.decode("ascii")
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        return _FilteredEndpoint(self.client, host, uri.port, uri.scheme == b"https")


class _BodyCollector(Protocol):
    """Collects a response body, giving up past ``limit`` bytes."""

    def __init__(self, limit: int, done: defer.Deferred[bytes]) -> None:
        self.limit = limit
        self.done = done
        self.parts: list[bytes] = []
        self.size = 0

    def dataReceived(self, data: bytes) -> None:  # noqa: N802
        if self.done.called:
            return
        self.size += len(data)
        if self.size > self.limit:
            self.done.errback(
                OutboundRequestError(f"response body over {self.limit} bytes")
            )
            self.transport.abortConnection()  # type: ignore[union-attr]
            return
        self.parts.append(data)

    def connectionLost(self, reason: Failure = ResponseDone()) -> None:  # type: ignore[assignment]  # noqa: N802, B008
        if self.done.called:
            return
        if reason.check(ResponseDone, PotentialDataLoss):
            self.done.callback(b"".join(self.parts))
        else:
            self.done.errback(reason)


@implementer(IBodyProducer)
class _BytesProducer:
    """A request body already in memory (no cooperator: works on any reactor)."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.length = len(body)

    def startProducing(self, consumer: Any) -> defer.Deferred[None]:  # noqa: N802
        consumer.write(self.body)
        return defer.succeed(None)

    def pauseProducing(self) -> None:  # noqa: N802
        pass

    def resumeProducing(self) -> None:  # noqa: N802
        pass

    def stopProducing(self) -> None:  # noqa: N802
        pass


class _Discard(Protocol):
    """Abandons a body we do not want (a redirect's)."""

    def connectionMade(self) -> None:  # noqa: N802
        self.transport.stopProducing()  # type: ignore[union-attr]

    def connectionLost(self, reason: Failure = ResponseDone()) -> None:  # type: ignore[assignment]  # noqa: N802, B008
        pass


class UntrustedHttpClient:
    """GETs untrusted URLs with the SSRF guards of the module docstring.

    Args:
        reactor: the reactor (connections and timers).
        ip_filter: which addresses may be connected to.
        resolve_host: hostname to addresses; default the reactor's resolver.
        max_body_bytes: larger bodies are refused (``OutboundRequestError``).
        timeout_s: the whole request, redirects and body included.
        max_redirects: redirects followed before giving up.
        user_agent: the ``User-Agent`` header sent.
        tls_trust_root: CAs to trust instead of the platform's (tests).
    """

    def __init__(
        self,
        *,
        reactor: Any,
        ip_filter: IpFilter,
        resolve_host: HostResolver | None = None,
        max_body_bytes: int = 10 * 1024 * 1024,
        timeout_s: float = 10.0,
        max_redirects: int = 5,
        user_agent: str = "Chatly",
        tls_trust_root: Any = None,
    ) -> None:
        self.reactor = reactor
        self.ip_filter = ip_filter
        self.resolve_host = resolve_host or hostname_resolver(reactor.nameResolver)
        self.max_body_bytes = max_body_bytes
        self.timeout_s = timeout_s
        self.max_redirects = max_redirects
        self.user_agent = user_agent
        self.tls_trust_root = tls_trust_root
        # Not persistent: a reused connection would skip the address check of
        # a later request to the same host after its DNS answer changed.
        pool = HTTPConnectionPool(reactor, persistent=False)
        self._agent = Agent.usingEndpointFactory(
            reactor, _EndpointFactory(self), pool=pool
        )

    def tls_options(self, host: str) -> Any:
        """The TLS settings for a connection to ``host``."""
        if self.tls_trust_root is not None:
            return optionsForClientTLS(host, trustRoot=self.tls_trust_root)
        return optionsForClientTLS(host)

    async def get(
        self,
        url: str,
        headers: dict[str, str] | None = None,
        allow_url: Callable[[str], bool] | None = None,
    ) -> OutboundResponse:
        """GET ``url``, following redirects; the final answer, whatever its
        status. ``allow_url``, if given, is asked about the URL and about each
        redirect target before anything is sent there.

        Raises:
            DeniedAddressError: the URL or a redirect points at a denied
                address; nothing was sent there.
            DeniedUrlError: ``allow_url`` refused the URL or a redirect
                target; nothing was sent there.
            OutboundRequestError: bad URL or scheme, connection failure,
                too many redirects, body too big, or over the time limit.
        """
        return await self._timed(
            defer.Deferred.fromCoroutine(self._get(url, headers or {}, allow_url))
        )

    async def _get(
        self,
        url: str,
        headers: dict[str, str],
        allow_url: Callable[[str], bool] | None,
    ) -> OutboundResponse:
        for _ in range(self.max_redirects + 1):
            if allow_url is not None and not allow_url(url):
                raise DeniedUrlError(f"URL refused: {url}")
            response = await self._request(url, headers)
            location = response.headers.getRawHeaders(b"location")
            if response.code not in REDIRECT_CODES or not location:
                body = await self._read_body(response)
                return OutboundResponse(
                    url=url, code=response.code, headers=response.headers, body=body
                )
            response.deliverBody(_Discard())
            url = urljoin(url, location[0].decode("latin-1"))
        raise OutboundRequestError(f"more than {self.max_redirects} redirects")

    async def request(
        self,
        method: str,
        url: str,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> OutboundResponse:
        """One request, redirects not followed (a 3xx is the answer), under
        the same guards and limits as ``get`` (application services).

        Raises:
            DeniedAddressError: ``url`` points at a denied address; nothing
                was sent there.
            OutboundRequestError: bad URL or scheme, connection failure, body
                too big, or over the time limit.
        """

        async def attempt() -> OutboundResponse:
            response = await self._request(url, headers or {}, method.encode(), body)
            data = await self._read_body(response)
            return OutboundResponse(
                url=url, code=response.code, headers=response.headers, body=data
            )

        return await self._timed(defer.Deferred.fromCoroutine(attempt()))

    async def _timed(self, attempt: defer.Deferred[OutboundResponse]) -> Any:
        timed_out = False

        def on_timeout(result: Any, timeout: float) -> Any:
            nonlocal timed_out
            timed_out = True
            return result

        attempt.addTimeout(self.timeout_s, self.reactor, onTimeoutCancel=on_timeout)
        try:
            return await attempt
        except Exception:
            # Cancelling surfaces as CancelledError or wrapped in the Agent's
            # ResponseNeverReceived, depending on where the request was.
            if timed_out:
                raise RequestTimedOutError(
                    f"request took longer than {self.timeout_s}s"
                ) from None
            raise

    async def _request(
        self,
        url: str,
        headers: dict[str, str],
        method: bytes = b"GET",
        body: bytes | None = None,
    ) -> Any:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise OutboundRequestError(f"only http(s) URLs may be fetched: {url!r}")
        try:
            parts.port  # noqa: B018 - raises on a bad port
            encoded = url.encode("ascii")
        except (ValueError, UnicodeEncodeError):
            raise OutboundRequestError(f"bad URL: {url!r}") from None
        sent = Headers({b"User-Agent": [self.user_agent.encode()]})
        for name, value in headers.items():
            sent.setRawHeaders(name.encode(), [value.encode()])
        try:
            producer = None if body is None else _BytesProducer(body)
            return await self._agent.request(method, encoded, sent, producer)
        except OutboundRequestError:
            raise
        except defer.CancelledError:
            raise
        except Exception as exc:
            inner = _connect_error(exc)
            if inner is not None:
                raise inner from None
            raise OutboundRequestError(f"request to {url} failed: {exc}") from exc

    async def _read_body(self, response: Any) -> bytes:
        length = response.length
        if isinstance(length, int) and length > self.max_body_bytes:
            response.deliverBody(_Discard())
            raise OutboundRequestError(
                f"response body over {self.max_body_bytes} bytes"
            )
        done: defer.Deferred[bytes] = defer.Deferred()
        collector = _BodyCollector(self.max_body_bytes, done)

        def cancel(_: Any) -> None:
            if collector.transport is not None:
                collector.transport.abortConnection()  # type: ignore[attr-defined]

        done = defer.Deferred(canceller=cancel)
        collector.done = done
        response.deliverBody(collector)
        return await done


def _connect_error(exc: Exception) -> OutboundRequestError | None:
    """Our own error from inside the Agent's connection attempt, if any."""
    reasons = getattr(exc, "reasons", None) or []
    for reason in reasons:
        if isinstance(reason, Failure) and isinstance(
            reason.value, OutboundRequestError
        ):
            return reason.value
    if isinstance(exc, OutboundRequestError):
        return exc
    return None


PREVIEW_USER_AGENT = "Chatly (bot; URL previews)"
"""Some sites give Open Graph data only to agents that look like bots."""


def preview_client(
    reactor: Any,
    config: UrlPreviewConfig,
    resolve_host: HostResolver | None = None,
    tls_trust_root: Any = None,
) -> UntrustedHttpClient:
    """The client URL previews fetch with, set up from ``url_preview``;
    ``resolve_host`` and ``tls_trust_root`` as for ``UntrustedHttpClient``."""
    return UntrustedHttpClient(
        reactor=reactor,
        resolve_host=resolve_host,
        tls_trust_root=tls_trust_root,
        user_agent=PREVIEW_USER_AGENT,
        ip_filter=IpFilter(config.ip_range_blacklist, config.ip_range_whitelist),
        max_body_bytes=int(config.max_spider_size),
        timeout_s=config.request_timeout / 1000,
        max_redirects=config.max_redirects,
    )
