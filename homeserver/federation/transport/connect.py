"""Opening connections for outbound federation: SSRF-checked addresses and
TLS with (or, for test set-ups, without) certificate checks.

Spec: server-server-api.md "TLS" and "Resolving server names" (which name
the certificate must match). Hostnames are resolved here, and every address is
checked against ``ip_range_blacklist``/``ip_range_whitelist`` before we
connect, so DNS can't point us at internal services.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from OpenSSL import SSL
from service_identity.hazmat import DNS_ID
from twisted.internet import defer
from twisted.internet.endpoints import (
    TCP4ClientEndpoint,
    TCP6ClientEndpoint,
    wrapClientTLS,
)
from twisted.internet.interfaces import (
    IHandshakeListener,
    IOpenSSLClientConnectionCreator,
    IProtocolFactory,
    IStreamClientEndpoint,
)
from twisted.internet.ssl import CertificateOptions, optionsForClientTLS
from twisted.protocols.policies import ProtocolWrapper, WrappingFactory
from twisted.python.failure import Failure
from zope.interface import implementer

from homeserver.federation.errors import RequestSendFailed
from homeserver.federation.transport.discovery import is_ip_literal
from homeserver.http_client.ip_filter import IpFilter

logger = logging.getLogger(__name__)

HostResolver = Callable[[str], Awaitable[list[str]]]
"""Resolves a hostname to its IP addresses (A and AAAA)."""

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@implementer(IOpenSSLClientConnectionCreator)
class _UncheckedTLS:
    """TLS that accepts any certificate (federation.verify_certificates off),
    still sending SNI for DNS names."""

    def __init__(self, hostname: str) -> None:
        self._context = CertificateOptions().getContext()
        self._sni = None if is_ip_literal(hostname) else hostname.encode("idna")

    def clientConnectionForTLS(self, tls_protocol: Any) -> SSL.Connection:  # noqa: N802
        connection = SSL.Connection(self._context, None)
        connection.set_app_data(tls_protocol)
        if self._sni is not None:
            connection.set_tlsext_host_name(self._sni)
        return connection


def tls_creator(hostname: str, verify: bool, trust_root: Any = None) -> Any:
    """The TLS settings (an ``IOpenSSLClientConnectionCreator``) for a
    connection whose certificate must match ``hostname``.

    Args:
        verify: check the certificate (off only for test set-ups).
        trust_root: CAs to trust instead of the platform's (tests).

    Raises:
        RequestSendFailed: (not retriable) ``hostname`` is neither an IP
            address nor a name a certificate can be checked against; TLS
            would only find out after connecting, and then hang.
    """
    if not is_ip_literal(hostname):
        try:
            DNS_ID(hostname)
        except ValueError:
            raise RequestSendFailed(
                f"{hostname!r} is not a host name TLS can check", retriable=False
            ) from None
    if not verify:
        return _UncheckedTLS(hostname)
    if trust_root is not None:
        return optionsForClientTLS(hostname, trustRoot=trust_root)
    return optionsForClientTLS(hostname)


@implementer(IHandshakeListener)
class _HandshakeWatcher(ProtocolWrapper):
    """Sits between TLS and the protocol that connected: ``done`` fires when
    the TLS handshake completes, or fails if the connection is lost first."""

    def __init__(self, factory: Any, wrapped: Any) -> None:
        super().__init__(factory, wrapped)
        self.done: defer.Deferred[None] = defer.Deferred()

    def handshakeCompleted(self) -> None:  # noqa: N802 - Twisted interface
        if not self.done.called:
            self.done.callback(None)

    def connectionLost(self, reason: Failure | None = None) -> None:  # noqa: N802
        if not self.done.called:
            self.done.errback(reason or Failure(ConnectionError("connection lost")))
        super().connectionLost(reason)


class _WatchingFactory(WrappingFactory):
    protocol = _HandshakeWatcher  # type: ignore[assignment]


@implementer(IStreamClientEndpoint)
class SafeEndpoint:
    """Connects to the first reachable allowed address of some targets.

    Looking a host up must finish within ``timeout_s``, and so must each
    connection attempt, TCP connection and TLS handshake together: an address
    that accepts the connection but never completes the handshake costs that
    long, not the whole request's time.

    Args:
        reactor: the reactor.
        targets: ``(host, port)`` pairs in order of preference.
        tls: the TLS settings, or None for plain TCP.
        ip_filter: the SSRF lists.
        resolve_host: hostname to addresses.
        timeout_s: per connection attempt.
    """

    def __init__(
        self,
        *,
        reactor: Any,
        targets: Sequence[tuple[str, int]],
        tls: IOpenSSLClientConnectionCreator | None,
        ip_filter: IpFilter,
        resolve_host: HostResolver,
        timeout_s: float,
    ) -> None:
        self.reactor = reactor
        self.targets = list(targets)
        self.tls = tls
        self.ip_filter = ip_filter
        self.resolve_host = resolve_host
        self.timeout_s = timeout_s

    def connect(self, protocol_factory: IProtocolFactory) -> defer.Deferred[Any]:
        """Connect, trying each allowed address in turn."""
        return defer.Deferred.fromCoroutine(self._connect(protocol_factory))

    async def _connect(self, protocol_factory: IProtocolFactory) -> Any:
        last_error: Exception | None = None
        blocked = 0
        for host, port in self.targets:
            try:
                addresses = await self._within_timeout(self.addresses(host))
            except Exception as exc:  # DNS failure: try the next target
                last_error = exc
                continue
            for ip in addresses:
                if not self.ip_filter.allowed(ip):
                    logger.warning(
                        "Not connecting to %s (%s): address is blacklisted", host, ip
                    )
                    blocked += 1
                    continue
                try:
                    return await self._attempt(ip, port, protocol_factory)
                except Exception as exc:
                    logger.info(
                        "Connecting to %s (%s:%d) failed: %s", host, ip, port, exc
                    )
                    last_error = exc
        if blocked and last_error is None:
            raise RequestSendFailed(
                "every address of the destination is blacklisted", retriable=False
            )
        raise RequestSendFailed(f"could not connect: {last_error}")

    async def _within_timeout(self, coroutine: Any) -> Any:
        attempt = defer.ensureDeferred(coroutine)
        attempt.addTimeout(self.timeout_s, self.reactor)
        return await attempt

    async def _attempt(
        self, ip: str, port: int, protocol_factory: IProtocolFactory
    ) -> Any:
        """One connection; with TLS, only once its handshake is done."""
        if self.tls is None:
            return await self._endpoint(ip, port).connect(protocol_factory)
        started = self.reactor.seconds()
        watching = _WatchingFactory(protocol_factory)
        connecting = self._endpoint(ip, port).connect(watching)
        connecting.addTimeout(self.timeout_s, self.reactor)
        watcher: Any = await connecting
        left = max(0.0, self.timeout_s - (self.reactor.seconds() - started))
        try:
            await watcher.done.addTimeout(left, self.reactor)
        except Exception:
            watcher.transport.abortConnection()
            raise
        return watcher.wrappedProtocol

    async def addresses(self, host: str) -> list[str]:
        """``host``'s addresses (itself if it is an IP literal)."""
        if is_ip_literal(host):
            return [host]
        return await self.resolve_host(host)

    def _endpoint(self, ip: str, port: int) -> Any:
        endpoint: Any
        if ipaddress.ip_address(ip).version == 6:
            endpoint = TCP6ClientEndpoint(self.reactor, ip, port, self.timeout_s)
        else:
            endpoint = TCP4ClientEndpoint(self.reactor, ip, port, self.timeout_s)
        if self.tls is not None:
            endpoint = wrapClientTLS(self.tls, endpoint)
        return endpoint


def reactor_host_resolver(reactor: Any) -> HostResolver:
    """Resolve hostnames with the reactor's resolver (getaddrinfo: DNS and
    /etc/hosts)."""
    from twisted.internet.interfaces import IResolutionReceiver

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

        reactor.nameResolver.resolveHostName(Receiver(), host, 0)
        addresses = await done
        if not addresses:
            raise RequestSendFailed(f"{host} has no addresses")
        return addresses

    return resolve
