"""Media over federation: the fetcher of other servers' files that the
media service's port takes (plugged in by the bind step)."""

from __future__ import annotations

from homeserver.composition.core import Core
from homeserver.federation.interfaces import FederationTransport, MediaTransport
from homeserver.federation.media.fetch import FederationMediaFetcher
from homeserver.federation.sender.unavailable import UnavailableTransport
from homeserver.http_client.ip_filter import IpFilter
from homeserver.http_client.untrusted import UntrustedHttpClient


def build_media_fetcher(
    *, core: Core, transport: FederationTransport
) -> FederationMediaFetcher:
    """The fetcher, over ``transport`` (when it can carry bytes) and an
    SSRF-guarded client for ``Location`` answers that applies federation's
    IP lists and the media size limit."""
    config = core.config.federation
    whitelist = config.domain_whitelist
    media_transport: MediaTransport = (
        transport if isinstance(transport, MediaTransport) else UnavailableTransport()
    )
    redirects = UntrustedHttpClient(
        reactor=core.reactor,
        ip_filter=IpFilter(config.ip_range_blacklist, config.ip_range_whitelist),
        max_body_bytes=int(core.config.media.max_upload_size),
        timeout_s=int(config.request_timeout) / 1000,
    )
    return FederationMediaFetcher(
        transport=media_transport,
        redirects=redirects,
        runner=core.blocking_runner,
        timeout_ms=int(config.request_timeout),
        allowed=lambda server: whitelist is None or server in whitelist,
    )
