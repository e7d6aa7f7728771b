"""Signed outbound federation requests over HTTPS (treq).

Spec: server-server-api.md "Request Authentication" (the X-Matrix header on
every request), "Resolving server names" (federation/discovery.py) and "TLS".
Every connection, including ``.well-known`` fetches and their redirects, goes
through the SSRF-checked endpoints of federation/connect.py.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import treq
from signedjson.types import SigningKey
from treq.client import HTTPClient
from twisted.internet import defer
from twisted.web.client import URI, Agent, HTTPConnectionPool
from twisted.web.http_headers import Headers
from twisted.web.iweb import IAgentEndpointFactory, IBodyProducer, IResponse
from zope.interface import implementer

from homeserver import __version__
from homeserver.config.model import FederationConfig
from homeserver.federation.errors import (
    HttpResponseError,
    RequestSendFailed,
    ResponseTooLarge,
)
from homeserver.federation.interfaces import Query, RawResponse
from homeserver.federation.transport.auth import sign_request
from homeserver.federation.transport.connect import (
    HostResolver,
    SafeEndpoint,
    reactor_host_resolver,
    tls_creator,
)
from homeserver.federation.transport.discovery import (
    WELL_KNOWN_MAX_BYTES,
    Route,
    ServerResolver,
    SrvResolver,
    twisted_srv_lookup,
)
from homeserver.federation.transport.json_requests import JsonRequests, request_uri
from homeserver.http_client.ip_filter import IpFilter
from homeserver.util.clock import Clock

logger = logging.getLogger(__name__)

SCHEME = "matrix-federation"
USER_AGENT = f"Chatly/{__version__}"
WELL_KNOWN_TIMEOUT_S = 10.0
MAX_RESPONSE_BYTES = 100 * 1024 * 1024


class BodyTooLarge(Exception):
    """A response body went over its limit (the connection was dropped).

    Attributes:
        prefix: the bytes up to the limit.
    """

    def __init__(self, prefix: bytes) -> None:
        super().__init__(f"body longer than {len(prefix)} bytes")
        self.prefix = prefix


async def read_body(response: IResponse, limit: int) -> bytes:
    """A response body of at most ``limit`` bytes, read as it arrives: a
    longer one (declared or sent) is dropped as soon as it goes over, never
    held in memory whole.

    Raises:
        BodyTooLarge: it is longer.
    """
    chunks: list[bytes] = []
    size = 0
    declared = response.length
    too_long = isinstance(declared, int) and declared > limit

    def collect(data: bytes) -> None:
        nonlocal size
        if too_long or size + len(data) > limit:
            chunks.append(data[: max(0, limit - size)])
            raise BodyTooLarge(b"".join(chunks))
        chunks.append(data)
        size += len(data)

    await treq.collect(response, collect)
    if too_long:  # declared too long, then sent nothing
        raise BodyTooLarge(b"")
    return b"".join(chunks)


class FederationClient(JsonRequests):
    """The production ``FederationTransport``.

    Args:
        server_name: our name (the origin of every request).
        signing_key: signs each request.
        config: the federation section.
        reactor: the Twisted reactor.
        clock: the time source.
        resolve_host: hostname to addresses (tests inject one).
        srv: SRV lookups (tests inject one).
        trust_root: CAs to trust instead of the platform's (tests).
        max_response_bytes: longer answers are cut off while they arrive and
            the request fails.
    """

    def __init__(
        self,
        *,
        server_name: str,
        signing_key: SigningKey,
        config: FederationConfig,
        reactor: Any,
        clock: Clock,
        resolve_host: HostResolver | None = None,
        srv: SrvResolver | None = None,
        trust_root: Any = None,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        self.server_name = server_name
        self.max_response_bytes = max_response_bytes
        self.signing_key = signing_key
        self.config = config
        self.reactor = reactor
        self.clock = clock
        self.ip_filter = IpFilter(config.ip_range_blacklist, config.ip_range_whitelist)
        self.resolve_host = resolve_host or reactor_host_resolver(reactor)
        self.trust_root = trust_root
        self.discovery = ServerResolver(
            clock, srv or twisted_srv_lookup, self._fetch_well_known
        )
        self._routes: dict[str, Route] = {}
        self.pool = HTTPConnectionPool(reactor)
        self.pool.maxPersistentPerHost = 5
        self.pool.cachedConnectionTimeout = 120
        # The Agent itself, not treq, for federation URIs: treq's URL handling
        # can't take IPv6 literals in a custom scheme.
        self.agent = Agent.usingEndpointFactory(
            reactor, _FederationEndpoints(self), self.pool
        )
        self.plain_http = HTTPClient(
            Agent.usingEndpointFactory(reactor, _WebEndpoints(self), self.pool)
        )

    # -- the request ---------------------------------------------------------
    async def request(
        self,
        method: str,
        destination: str,
        path: str,
        body: Any = None,
        query: Query | None = None,
        *,
        timeout_ms: int | None = None,
        signed: bool = True,
    ) -> Any:
        """Send one request; the parsed JSON of a 2xx answer.

        Raises:
            RequestSendFailed: not allowed, unreachable, TLS failure, timeout,
                or an answer that is not JSON.
            HttpResponseError: a non-2xx answer.
        """
        code, _headers, content = await self._exchange(
            method, destination, path, body, query, timeout_ms, signed
        )
        try:
            parsed = json.loads(content) if content else None
        except ValueError:
            parsed = None
            if 200 <= code < 300:
                raise RequestSendFailed(f"{destination} answered non-JSON") from None
        if 200 <= code < 300:
            return parsed
        logger.info("%s %s%s: HTTP %d", method, destination, path, code)
        raise HttpResponseError(code, parsed)

    async def get_bytes(
        self,
        destination: str,
        path: str,
        query: Query | None = None,
        *,
        max_bytes: int,
        timeout_ms: int | None = None,
    ) -> RawResponse:
        """GET ``path`` signed; the bytes of a 2xx answer (``MediaTransport``).

        Raises:
            RequestSendFailed: as ``request``; ``ResponseTooLarge`` for a
                body over ``max_bytes`` (dropped as it arrives).
            HttpResponseError: a non-2xx answer.
        """
        code, headers, content = await self._exchange(
            "GET", destination, path, None, query, timeout_ms, True, max_bytes
        )
        if 200 <= code < 300:
            return RawResponse(code, headers, content)
        try:
            parsed = json.loads(content) if content else None
        except ValueError:
            parsed = None
        logger.info("GET %s%s: HTTP %d", destination, path, code)
        raise HttpResponseError(code, parsed)

    async def _exchange(
        self,
        method: str,
        destination: str,
        path: str,
        body: Any,
        query: Query | None,
        timeout_ms: int | None,
        signed: bool,
        max_bytes: int | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        """Send one request within its time limit: status, headers, body."""
        self._check_allowed(destination)
        uri = request_uri(path, query)
        timeout_s = (timeout_ms or int(self.config.request_timeout)) / 1000
        attempt = defer.Deferred.fromCoroutine(
            self._send(
                method,
                destination,
                uri,
                body,
                signed,
                max_bytes or self.max_response_bytes,
            )
        )
        attempt.addTimeout(timeout_s, self.reactor)
        try:
            return await attempt  # type: ignore[no-any-return]
        except RequestSendFailed as exc:
            logger.info("%s %s%s failed: %s", method, destination, uri, exc)
            raise
        except defer.TimeoutError:
            logger.info("%s %s%s timed out", method, destination, uri)
            raise RequestSendFailed(f"timed out after {timeout_s}s") from None
        except Exception as exc:  # connection, TLS and protocol errors
            logger.info("%s %s%s failed: %r", method, destination, uri, exc)
            raise RequestSendFailed(f"{type(exc).__name__}: {exc}") from None

    def _check_allowed(self, destination: str) -> None:
        if not self.config.enabled:
            raise RequestSendFailed("federation is disabled", retriable=False)
        whitelist = self.config.domain_whitelist
        if whitelist is not None and destination not in whitelist:
            raise RequestSendFailed(
                f"{destination} is not in federation.domain_whitelist", retriable=False
            )

    async def _send(
        self,
        method: str,
        destination: str,
        uri: str,
        body: Any,
        signed: bool,
        max_bytes: int,
    ) -> tuple[int, dict[str, str], bytes]:
        try:
            route = await self.discovery.resolve(destination)
        except ValueError as exc:
            raise RequestSendFailed(str(exc), retriable=False) from None
        self._routes[destination] = route
        headers = Headers({"Host": [route.host_header], "User-Agent": [USER_AGENT]})
        if signed:
            headers.addRawHeader(
                "Authorization",
                sign_request(
                    self.signing_key, method, uri, self.server_name, destination, body
                ),
            )
        producer = None
        if body is not None:
            producer = _BytesProducer(json.dumps(body, separators=(",", ":")).encode())
            headers.addRawHeader("Content-Type", "application/json")
        response = await self.agent.request(
            method.encode("ascii"),
            f"{SCHEME}://{destination}{uri}".encode("ascii"),
            headers,
            producer,
        )
        try:
            content = await read_body(response, max_bytes)
        except BodyTooLarge:
            raise ResponseTooLarge(max_bytes) from None
        answer_headers = {
            name.decode("latin-1").lower(): values[-1].decode("latin-1")
            for name, values in response.headers.getAllRawHeaders()
        }
        return response.code, answer_headers, content

    async def _fetch_well_known(self, host: str) -> tuple[int, dict[str, str], bytes]:
        """GET https://<host>/.well-known/matrix/server (redirects followed,
        every hop SSRF-checked)."""
        attempt = defer.Deferred.fromCoroutine(self._get_well_known(host))
        attempt.addTimeout(WELL_KNOWN_TIMEOUT_S, self.reactor)
        return await attempt  # type: ignore[no-any-return]

    async def _get_well_known(self, host: str) -> tuple[int, dict[str, str], bytes]:
        response = await self.plain_http.get(
            f"https://{host}/.well-known/matrix/server",
            headers=Headers({"User-Agent": [USER_AGENT]}),
            reactor=self.reactor,
        )
        try:
            content = await read_body(response, WELL_KNOWN_MAX_BYTES)
        except BodyTooLarge as exc:
            content = exc.prefix  # as good as it gets: it won't parse
        answer_headers = {
            name.decode("latin-1").lower(): values[-1].decode("latin-1")
            for name, values in response.headers.getAllRawHeaders()
        }
        return response.code, answer_headers, content


@implementer(IAgentEndpointFactory)
class _FederationEndpoints:
    """Endpoints for ``matrix-federation://<server name>`` URIs."""

    def __init__(self, client: FederationClient) -> None:
        self.client = client

    def endpointForURI(self, uri: URI) -> Any:  # noqa: N802 - Twisted interface
        return _RouteEndpoint(self.client, uri.netloc.decode("ascii"))


class _RouteEndpoint:
    """Connects to a server along its resolved route."""

    def __init__(self, client: FederationClient, server_name: str) -> None:
        self.client = client
        self.server_name = server_name

    def connect(self, protocol_factory: Any) -> defer.Deferred[Any]:
        return defer.Deferred.fromCoroutine(self._connect(protocol_factory))

    async def _connect(self, protocol_factory: Any) -> Any:
        client = self.client
        route = client._routes.get(self.server_name)
        if route is None:
            route = await client.discovery.resolve(self.server_name)
        endpoint = SafeEndpoint(
            reactor=client.reactor,
            targets=route.targets,
            tls=tls_creator(
                route.tls_name, client.config.verify_certificates, client.trust_root
            ),
            ip_filter=client.ip_filter,
            resolve_host=client.resolve_host,
            timeout_s=int(client.config.connect_timeout) / 1000,
        )
        return await endpoint.connect(protocol_factory)


@implementer(IAgentEndpointFactory)
class _WebEndpoints:
    """Endpoints for plain https:// (and, after a redirect, http://) URIs."""

    def __init__(self, client: FederationClient) -> None:
        self.client = client

    def endpointForURI(self, uri: URI) -> Any:  # noqa: N802 - Twisted interface
        client = self.client
        host = uri.host.decode("ascii").strip("[]")
        tls = None
        if uri.scheme == b"https":
            tls = tls_creator(
                host, client.config.verify_certificates, client.trust_root
            )
        return SafeEndpoint(
            reactor=client.reactor,
            targets=[(host, uri.port)],
            tls=tls,
            ip_filter=client.ip_filter,
            resolve_host=client.resolve_host,
            timeout_s=min(
                WELL_KNOWN_TIMEOUT_S, int(client.config.connect_timeout) / 1000
            ),
        )


@implementer(IBodyProducer)
class _BytesProducer:
    """A request body that is already in memory."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.length = len(data)

    def startProducing(self, consumer: Any) -> defer.Deferred[None]:  # noqa: N802
        consumer.write(self.data)
        return defer.succeed(None)

    def pauseProducing(self) -> None:  # noqa: N802
        pass

    def resumeProducing(self) -> None:  # noqa: N802
        pass

    def stopProducing(self) -> None:  # noqa: N802
        pass
