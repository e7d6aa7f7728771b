"""Resolving server names to where to connect, and what to call them there.

Spec: server-server-api.md "Resolving server names". The result is a
``Route``: the ``Host`` header and TLS name (the same for every target of one
server) and the host:port targets to try in order. IP literals and explicit
ports need no lookups; otherwise ``/.well-known/matrix/server`` may delegate,
then SRV records (``_matrix-fed._tcp``, then the deprecated ``_matrix._tcp``)
and finally port 8448 apply. Addresses are checked against the SSRF lists by
the connecting code (federation/connect.py), never here.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import attrs

from homeserver.util.clock import Clock

logger = logging.getLogger(__name__)

DEFAULT_PORT = 8448
# Spec: default 24 hours, cap at 48, cache errors for up to an hour.
WELL_KNOWN_DEFAULT_CACHE_S = 24 * 3600
WELL_KNOWN_MAX_CACHE_S = 48 * 3600
WELL_KNOWN_ERROR_CACHE_S = 3600
# Never refetch more often than this, whatever the headers say.
WELL_KNOWN_MIN_CACHE_S = 300
WELL_KNOWN_MAX_BYTES = 50 * 1024
_MAX_AGE = re.compile(r"max-age\s*=\s*(\d+)", re.I)
_HOSTNAME = re.compile(r"^[A-Za-z0-9.-]{1,255}$")
_LABEL = re.compile(r"^[A-Za-z0-9-]{1,63}$")


@attrs.frozen
class Route:
    """How to reach one server.

    Attributes:
        host_header: the ``Host`` header for requests.
        tls_name: the name its certificate must be valid for (and the SNI).
        targets: ``(host, port)`` pairs to try in order; a host may be a name
            still to be resolved to addresses, or an IP literal.
    """

    host_header: str
    tls_name: str
    targets: tuple[tuple[str, int], ...]


def split_server_name(server_name: str) -> tuple[str, int | None]:
    """``host[:port]`` into host (IPv6 without brackets) and port.

    Raises:
        ValueError: not a valid server name.
    """
    if server_name.startswith("["):
        end = server_name.find("]")
        if end < 0:
            raise ValueError(f"bad IPv6 literal in {server_name!r}")
        host, rest = server_name[1:end], server_name[end + 1 :]
        ipaddress.IPv6Address(host)
        if rest and not rest.startswith(":"):
            raise ValueError(f"bad server name {server_name!r}")
        port_text = rest[1:] if rest else None
    else:
        host, sep, port_text_raw = server_name.partition(":")
        port_text = port_text_raw if sep else None
        if not _HOSTNAME.match(host) or not (is_ip_literal(host) or is_dns_name(host)):
            raise ValueError(f"bad server name {server_name!r}")
    if port_text is None:
        return host, None
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"bad port in {server_name!r}")
    return host, int(port_text)


def is_dns_name(host: str) -> bool:
    """Whether ``host`` is a DNS name we can connect to and check a
    certificate for: labels of letters, digits and hyphens, and not numeric
    at the end. A name such as ``2130706433`` or ``127.1`` matches the
    server-name grammar's ``dns-name``, but no top-level domain is all digits
    (RFC 3696 section 2): resolvers read it as an IPv4 address in another
    notation, and certificates cannot name it (TLS would refuse it only after
    connecting). Such names are refused before any lookup.
    """
    labels = host.removesuffix(".").split(".")
    if not all(_LABEL.match(label) for label in labels):
        return False
    return not labels[-1].isdigit()


def is_ip_literal(host: str) -> bool:
    """Whether ``host`` (brackets removed) is an IPv4 or IPv6 address."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class SrvResolver(Protocol):
    """Looks up SRV records: ``(target, port)`` in preference order, [] if none."""

    def __call__(self, name: str) -> Awaitable[list[tuple[str, int]]]: ...


WellKnownFetch = Callable[[str], Awaitable[tuple[int, dict[str, str], bytes]]]
"""GET ``https://<host>/.well-known/matrix/server``: (status, headers, body)."""


class ServerResolver:
    """Resolves server names to ``Route``s, caching ``.well-known`` answers.

    Args:
        clock: the time source (for the cache).
        srv: SRV lookups.
        fetch_well_known: the HTTPS GET of a host's well-known document (it
            goes through the SSRF-checked client).
    """

    def __init__(
        self, clock: Clock, srv: SrvResolver, fetch_well_known: WellKnownFetch
    ) -> None:
        self.clock = clock
        self.srv = srv
        self.fetch_well_known = fetch_well_known
        self._well_known: dict[str, tuple[str | None, float]] = {}

    async def resolve(self, server_name: str) -> Route:
        """Where to reach ``server_name``.

        Raises:
            ValueError: not a valid server name.
        """
        host, port = split_server_name(server_name)
        if is_ip_literal(host):
            return Route(server_name, host, ((host, port or DEFAULT_PORT),))
        if port is not None:
            return Route(server_name, host, ((host, port),))
        delegated = await self.well_known(host)
        if delegated is not None:
            try:
                return await self._delegated_route(delegated)
            except ValueError:
                logger.warning("Bad m.server %r for %s", delegated, server_name)
        return Route(host, host, await self._srv_or_default(host))

    async def _delegated_route(self, delegated: str) -> Route:
        host, port = split_server_name(delegated)
        if is_ip_literal(host):
            return Route(delegated, host, ((host, port or DEFAULT_PORT),))
        if port is not None:
            return Route(f"{host}:{port}", host, ((host, port),))
        return Route(host, host, await self._srv_or_default(host))

    async def _srv_or_default(self, host: str) -> tuple[tuple[str, int], ...]:
        for service in ("_matrix-fed._tcp", "_matrix._tcp"):
            records = await self.srv(f"{service}.{host}")
            if records:
                logger.debug("SRV %s.%s: %s", service, host, records)
                return tuple(records)
        return ((host, DEFAULT_PORT),)

    async def well_known(self, host: str) -> str | None:
        """The ``m.server`` delegation of ``host``, cached; None if it has none."""
        now = self.clock.time()
        cached = self._well_known.get(host)
        if cached is not None and cached[1] > now:
            return cached[0]
        result, ttl = await self._fetch(host)
        self._well_known[host] = (result, now + ttl)
        return result

    async def _fetch(self, host: str) -> tuple[str | None, float]:
        try:
            code, headers, body = await self.fetch_well_known(host)
        except Exception as exc:  # any network or TLS failure: no delegation
            logger.info("No .well-known/matrix/server for %s: %s", host, exc)
            return None, WELL_KNOWN_ERROR_CACHE_S
        if code != 200:
            logger.info("No .well-known/matrix/server for %s: HTTP %s", host, code)
            return None, WELL_KNOWN_ERROR_CACHE_S
        try:
            document: Any = json.loads(body[:WELL_KNOWN_MAX_BYTES])
            delegated = document["m.server"]
            if not isinstance(delegated, str):
                raise TypeError("m.server is not a string")
            split_server_name(delegated)
        except (ValueError, KeyError, TypeError) as exc:
            logger.warning("Invalid .well-known/matrix/server of %s: %s", host, exc)
            return None, WELL_KNOWN_ERROR_CACHE_S
        logger.info("%s delegates federation to %s", host, delegated)
        return delegated, _cache_seconds(headers)


def _cache_seconds(headers: dict[str, str]) -> float:
    cache_control = headers.get("cache-control", "")
    match = _MAX_AGE.search(cache_control)
    if "no-store" in cache_control or "no-cache" in cache_control:
        seconds = 0
    else:
        seconds = int(match.group(1)) if match else WELL_KNOWN_DEFAULT_CACHE_S
    return float(max(WELL_KNOWN_MIN_CACHE_S, min(seconds, WELL_KNOWN_MAX_CACHE_S)))


async def twisted_srv_lookup(name: str) -> list[tuple[str, int]]:
    """SRV records through twisted.names (the system's DNS servers), ordered by
    priority then weight (heaviest first); [] when there are none."""
    from twisted.names import client, dns, error

    try:
        answers, _, _ = await client.lookupService(name)
    except (error.DNSNameError, error.DNSServerError, error.DomainError):
        return []
    except Exception as exc:  # timeouts and the like: treat as no record
        logger.info("SRV lookup of %s failed: %s", name, exc)
        return []
    records = [
        answer.payload
        for answer in answers
        if answer.type == dns.SRV and isinstance(answer.payload, dns.Record_SRV)
    ]
    records.sort(key=lambda r: (r.priority, -r.weight))
    targets = [(str(r.target).rstrip("."), int(r.port)) for r in records]
    # A target of "." means "no service here" (RFC 2782).
    return [(host, port) for host, port in targets if host]
