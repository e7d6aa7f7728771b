"""Config section: url_preview (fetching URLs users post, with SSRF guards).

The address lists here feed ``homeserver.http_client.untrusted``, the client
for untrusted URLs (docs/outbound-requests.md).
"""

from __future__ import annotations

import ipaddress
from typing import Any

import attrs

from homeserver.config.fields import option, positive
from homeserver.config.sections.federation import DEFAULT_IP_RANGE_BLACKLIST
from homeserver.util.structure import ByteSize, Duration


def _ip_ranges(_inst: Any, _attribute: attrs.Attribute, value: list[str]) -> None:
    """Validator: each entry is an IP address or CIDR range."""
    for entry in value:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ValueError(f"{entry!r} is not an IP address or CIDR range") from None


@attrs.frozen(kw_only=True)
class UrlPreviewConfig:
    """URL previews (docs/outbound-requests.md)."""

    enabled: bool = option(
        False,
        doc="Fetch URLs that users ask a preview of. Off by default: the server "
        "then makes requests to addresses its users choose.",
    )
    ip_range_blacklist: list[str] = option(
        factory=lambda: list(DEFAULT_IP_RANGE_BLACKLIST),
        doc="Previews never connect to these address ranges, checked after DNS "
        "resolution and on every redirect (protection against SSRF). The default "
        "lists private, loopback, link-local, carrier-grade NAT, multicast and "
        "other special-purpose ranges; 0.0.0.0 and :: are always refused.",
        validator=_ip_ranges,
    )
    ip_range_whitelist: list[str] = option(
        factory=list,
        doc="Ranges previews may connect to even though ip_range_blacklist covers "
        "them, e.g. ['192.168.1.10/32'] for an intranet wiki.",
        validator=_ip_ranges,
    )
    max_spider_size: ByteSize = option(
        ByteSize(10 * 1024 * 1024),
        doc="The largest response body a preview fetches; larger ones are refused.",
        example="10M",
        validator=positive,
    )
    request_timeout: Duration = option(
        Duration(10_000),
        doc="How long fetching one URL may take, redirects and body included.",
        example="10s",
        validator=positive,
    )
    max_redirects: int = option(
        5, doc="Redirects followed, each target checked again.", validator=positive
    )
