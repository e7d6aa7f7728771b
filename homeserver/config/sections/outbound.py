"""Config section: url_preview (fetching URLs users post, with SSRF guards).

The address lists here feed ``homeserver.http_client.untrusted``, the client
for untrusted URLs (docs/outbound-requests.md).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

import attrs

from homeserver.config.fields import option, positive
from homeserver.config.sections.federation import DEFAULT_IP_RANGE_BLACKLIST
from homeserver.util.structure import ByteSize, Duration


def ip_ranges(_inst: Any, _attribute: attrs.Attribute, value: list[str]) -> None:
    """Validator: each entry is an IP address or CIDR range."""
    for entry in value:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ValueError(f"{entry!r} is not an IP address or CIDR range") from None


# The parts of a URL a url_blacklist entry may name (attributes of urllib's
# SplitResult).
URL_PARTS = frozenset(
    {"scheme", "netloc", "path", "query", "fragment", "username", "password"}
    | {"hostname", "port"}
)


def _url_rules(
    _inst: Any, _attribute: attrs.Attribute, value: list[dict[str, str]]
) -> None:
    """Validator: each entry maps URL parts to globs or ``^`` regexes."""
    for entry in value:
        if not entry:
            raise ValueError("an entry must name at least one URL part")
        for part, pattern in entry.items():
            if part not in URL_PARTS:
                raise ValueError(
                    f"{part!r} is not a URL part (one of {sorted(URL_PARTS)})"
                )
            if not isinstance(pattern, str):
                raise ValueError(f"the pattern for {part!r} must be a string")
            if pattern.startswith("^"):
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise ValueError(
                        f"bad regular expression {pattern!r}: {exc}"
                    ) from None


@attrs.frozen(kw_only=True)
class OEmbedProviderConfig:
    """One oEmbed provider: URLs it answers for and where to ask."""

    endpoint: str = option(
        doc="The provider's oEmbed API URL (JSON); '{format}' in it becomes 'json'."
    )
    url_patterns: list[str] = option(
        factory=list,
        doc="URLs it answers for, with '*' as a wildcard (within the host name "
        "it does not match '/').",
    )


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
        validator=ip_ranges,
    )
    ip_range_whitelist: list[str] = option(
        factory=list,
        doc="Ranges previews may connect to even though ip_range_blacklist covers "
        "them, e.g. ['192.168.1.10/32'] for an intranet wiki.",
        validator=ip_ranges,
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
    url_blacklist: list[dict[str, str]] = option(
        factory=list,
        doc="URLs never previewed (403), as Synapse's url_preview_url_blacklist: "
        "each entry maps URL parts (scheme, netloc, hostname, port, path, query, "
        "fragment, username, password) to a glob, or to a regular expression when "
        "it starts with '^'; a URL is refused when every part of one entry matches. "
        "Checked for the URL asked, each redirect target, and the oEmbed and "
        "image URLs of a preview.",
        example=[{"netloc": "*.internal.example"}, {"path": "^/private/"}],
        validator=_url_rules,
    )
    accept_language: list[str] = option(
        factory=lambda: ["en"],
        doc="Sent as Accept-Language when fetching a page, in order of preference.",
    )
    cache_duration: Duration = option(
        Duration(3600 * 1000),
        doc="How long a preview is reused when the page sends no cache headers "
        "(Cache-Control max-age, Expires).",
        example="1h",
    )
    max_cache_duration: Duration = option(
        Duration(24 * 3600 * 1000),
        doc="The longest a preview is reused, whatever the page's cache headers say.",
        example="1d",
        validator=positive,
    )
    oembed_providers: list[OEmbedProviderConfig] = option(
        factory=list,
        doc="oEmbed providers beyond the built-in ones (YouTube, Twitter/X, Vimeo): "
        "previews of URLs that match url_patterns are asked of the endpoint.",
        example=[
            OEmbedProviderConfig(
                endpoint="https://video.example.com/oembed",
                url_patterns=["https://video.example.com/watch/*"],
            )
        ],
    )
