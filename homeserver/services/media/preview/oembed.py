"""oEmbed (https://oembed.com/): which URLs to ask a provider about, and its
JSON answer turned into Open Graph data.

Pure functions, no I/O. A few well-known providers are built in; more come
from ``url_preview.oembed_providers``. Pages of other sites can point at
their oEmbed data themselves (``html.oembed_link``).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

import attrs
from lxml import etree

from homeserver.config.sections.outbound import OEmbedProviderConfig
from homeserver.services.media.preview.html import summarize

BUILT_IN_PROVIDERS = (
    OEmbedProviderConfig(
        endpoint="https://www.youtube.com/oembed",
        url_patterns=[
            "https://*.youtube.com/watch*",
            "https://*.youtube.com/shorts/*",
            "https://*.youtube.com/v/*",
            "https://youtu.be/*",
        ],
    ),
    OEmbedProviderConfig(
        endpoint="https://publish.twitter.com/oembed",
        url_patterns=[
            "https://twitter.com/*/status/*",
            "https://*.twitter.com/*/status/*",
            "https://x.com/*/status/*",
            "https://*.x.com/*/status/*",
        ],
    ),
    OEmbedProviderConfig(
        endpoint="https://vimeo.com/api/oembed.json",
        url_patterns=["https://vimeo.com/*", "https://*.vimeo.com/*"],
    ),
)


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """A URL pattern with ``*`` wildcards as a regex. Up to the path, ``*``
    stays within the host name (``https://*.youtube.com/*`` does not match
    ``https://evil.example/.youtube.com/``); in the path it matches anything."""
    scheme, sep, rest = pattern.partition("://")
    host, slash, path = rest.partition("/")
    head = re.escape(scheme + sep + host).replace(r"\*", r"[^/?#@]*")
    tail = re.escape(slash + path).replace(r"\*", ".*")
    return re.compile(head + tail)


@attrs.frozen
class _Provider:
    endpoint: str
    patterns: tuple[re.Pattern[str], ...]


class OEmbedProviders:
    """The providers asked for URLs they answer for.

    Args:
        extra: providers from the config, tried before the built-in ones.
    """

    def __init__(self, extra: Iterable[OEmbedProviderConfig] = ()) -> None:
        self._providers = [
            _Provider(p.endpoint, tuple(pattern_regex(u) for u in p.url_patterns))
            for p in (*extra, *BUILT_IN_PROVIDERS)
        ]

    def oembed_url(self, url: str) -> str | None:
        """Where to fetch ``url``'s oEmbed JSON, if a provider answers for it."""
        for provider in self._providers:
            if any(p.fullmatch(url) for p in provider.patterns):
                endpoint = provider.endpoint.replace("{format}", "json")
                joiner = "&" if "?" in endpoint else "?"
                return endpoint + joiner + urlencode({"url": url, "format": "json"})
        return None


@attrs.frozen
class OEmbedResult:
    """Open Graph data from an oEmbed answer.

    Args:
        og: the Open Graph keys (``og:image`` as the provider gives it).
        author_name: the ``author_name``, used as title when there is none.
        cache_age_ms: how long the provider says to keep it, if it does.
    """

    og: dict[str, Any]
    author_name: str | None
    cache_age_ms: int | None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _from_embed_html(og: dict[str, Any], markup: str) -> None:
    """Description, image and video from the ``html`` of a rich or video answer."""
    parser = etree.HTMLParser(recover=True, encoding="utf-8")
    try:
        tree = etree.fromstring(markup.encode("utf-8"), parser)
    except etree.LxmlError:
        return
    if tree is None:
        return
    if "og:image" not in og:
        for img in tree.iter("img"):
            if img.get("src"):
                og["og:image"] = img.get("src")
                break
    for tag in ("video", "embed"):
        for element in tree.iter(tag):
            if element.get("src") and "og:video" not in og:
                og["og:video"] = element.get("src")
    description = summarize(iter(tree.itertext()))
    if description:
        og["og:description"] = description


def parse_oembed(url: str, body: bytes) -> OEmbedResult:
    """The Open Graph data of an oEmbed JSON answer about ``url``; empty if
    the answer is not oEmbed 1.0 JSON."""
    try:
        data = json.loads(body.decode("utf-8"))  # oEmbed is UTF-8 by its spec
    except (UnicodeDecodeError, ValueError):
        return OEmbedResult({}, None, None)
    # "version" is required, but often missing or a number: be lenient.
    if not isinstance(data, dict) or data.get("version", "1.0") not in ("1.0", 1, 1.0):
        return OEmbedResult({}, None, None)
    try:
        cache_age_ms: int | None = max(0, int(data["cache_age"])) * 1000
    except (KeyError, TypeError, ValueError, OverflowError):
        cache_age_ms = None
    og: dict[str, Any] = {"og:url": url}
    if title := _str(data.get("title")):
        # Some WordPress plug-ins escape entities in oEmbed titles.
        og["og:title"] = html.unescape(title)
    if site := _str(data.get("provider_name")):
        og["og:site_name"] = site
    if thumbnail := _str(data.get("thumbnail_url")):
        og["og:image"] = thumbnail
    kind = data.get("type")
    markup = _str(data.get("html"))
    if kind == "photo":
        if photo := _str(data.get("url")):
            og["og:image"] = photo
    elif kind == "video":
        og["og:type"] = "video.other"
        for size in ("width", "height"):
            if type(data.get(size)) is int:
                og[f"og:video:{size}"] = data[size]
    elif kind == "link":
        og["og:type"] = "website"
    if markup and kind in ("rich", "video"):
        _from_embed_html(og, markup)
    return OEmbedResult(og, _str(data.get("author_name")), cache_age_ms)
