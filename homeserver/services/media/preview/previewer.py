"""URL previews: ``GET /_matrix/client/v1/media/preview_url``.

Spec: client-server API "Content repository", ``preview_url``. Open Graph
data of a URL, its image stored as local media (``og:image`` an ``mxc://``
URI, with ``matrix:image:size``). The steps, as Synapse takes them:

1. Refuse URLs that are not http(s) (400) or that ``url_blacklist`` matches (403).
2. Join a fetch of the same URL already under way (in-memory, per URL).
3. Answer from the ``url_cache`` table when a 2xx preview is there for the
   requested time (``ts``) and has not expired.
4. Fetch the URL, through its oEmbed provider when one is known for it.
   An image is the preview's image. An HTML page gives its Open Graph data
   (with fallbacks), merged over its oEmbed data if it links to any. An oEmbed
   answer gives its own. Then the image named, if any, is fetched and stored.
5. Store the preview until it expires (the page's cache headers, else
   ``cache_duration``; at most ``max_cache_duration``).

Parsing and Pillow run off the reactor thread. A failed oEmbed or image fetch
never fails the preview.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import urljoin, urlsplit

from twisted.internet import defer
from twisted.python.failure import Failure

from homeserver.config.sections.outbound import UrlPreviewConfig
from homeserver.errors import Codes, InvalidParam, MatrixError
from homeserver.http_client.untrusted import OutboundResponse
from homeserver.services.media.preview.fetch import (
    PreviewFetcher,
    content_type_of,
    header,
    media_type,
)
from homeserver.services.media.preview.html import oembed_link, open_graph, parse_html
from homeserver.services.media.preview.oembed import (
    OEmbedProviders,
    OEmbedResult,
    parse_oembed,
)
from homeserver.services.media.preview.rules import cache_lifetime_ms
from homeserver.storage.database import Runner
from homeserver.storage.stores.url_cache import CachedPreview, UrlCacheStore
from homeserver.types import UserID
from homeserver.util.clock import Clock

logger = logging.getLogger(__name__)

OG_TAG_NAME_MAXLEN = 50
OG_TAG_VALUE_MAXLEN = 1000
MAX_URL_LENGTH = 8192


def _is_html(mtype: str) -> bool:
    return mtype in ("text/html", "application/xhtml+xml")


def _is_json(mtype: str) -> bool:
    return mtype == "application/json" or mtype.endswith("+json")


def _parse_page(body: bytes, content_type: str, url: str) -> tuple[dict, str | None]:
    """Open Graph data and oEmbed link of a page (runs in a thread)."""
    tree = parse_html(body, content_type)
    if tree is None:
        return {}, None
    return open_graph(tree, url), oembed_link(tree, url)


def _prune(og: dict[str, Any]) -> dict[str, Any]:
    """Without keys or values too long to be real, and without empty values."""
    kept = {}
    for key, value in og.items():
        if value is None or value == "":
            continue
        if len(key) > OG_TAG_NAME_MAXLEN or len(str(value)) > OG_TAG_VALUE_MAXLEN:
            logger.info("Pruning overlong tag from a URL preview: %s", key[:50])
            continue
        kept[key] = value
    return kept


class UrlPreviewer:
    """Makes, caches and answers URL previews.

    Args:
        config: the ``url_preview`` section.
        fetcher: fetches URLs and stores images.
        store: the preview cache.
        clock: for timestamps.
        runner: runs HTML parsing off the reactor thread.
    """

    def __init__(
        self,
        *,
        config: UrlPreviewConfig,
        fetcher: PreviewFetcher,
        store: UrlCacheStore,
        clock: Clock,
        runner: Runner,
    ) -> None:
        self.config = config
        self.fetcher = fetcher
        self.store = store
        self.clock = clock
        self.runner = runner
        self.oembed = OEmbedProviders(config.oembed_providers)
        self._in_flight: dict[str, list[defer.Deferred[str]]] = {}

    async def preview(self, user: UserID, url: str, ts: int | None) -> dict[str, Any]:
        """The preview of ``url`` at ``ts`` (ms; now if None).

        Raises:
            MatrixError: 400 M_INVALID_PARAM for a URL that is not http(s);
                403 for a blocked URL or address; 502 when the URL cannot be
                fetched, answers non-2xx or with a type that has no preview.
        """
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidParam("Only http and https URLs can be previewed")
        if len(url) > MAX_URL_LENGTH:
            raise InvalidParam("URL is too long")
        if self.fetcher.blocked(url):
            raise MatrixError(
                403, "URL blocked by url pattern blocklist entry", Codes.UNKNOWN
            )
        when = self.clock.time_msec() if ts is None else ts
        waiter: defer.Deferred[str] = defer.Deferred()
        waiters = self._in_flight.get(url)
        if waiters is None:
            waiters = self._in_flight[url] = [waiter]
            defer.Deferred.fromCoroutine(self._preview(url, user, when)).addBoth(
                self._finished, url
            )
        else:
            logger.debug("joining a URL preview under way")
            waiters.append(waiter)
        return json.loads(await waiter)  # type: ignore[no-any-return]

    def _finished(self, result: str | Failure, url: str) -> None:
        """Hand the outcome to everyone waiting for ``url``."""
        for waiter in self._in_flight.pop(url, []):
            # A waiter whose request went away was cancelled: it ignores this.
            if isinstance(result, Failure):
                waiter.errback(result)
            else:
                waiter.callback(result)

    async def _preview(self, url: str, user: UserID, ts: int) -> str:
        cached = await self.store.get_url_cache(url, ts)
        if cached and cached.expires_ts > ts and cached.response_code // 100 == 2:
            return cached.og
        oembed_url = self.oembed.oembed_url(url)
        response = await self.fetcher.fetch(oembed_url or url)
        lifetime = cache_lifetime_ms(
            header(response, "cache-control"),
            header(response, "expires"),
            header(response, "date"),
            int(self.config.cache_duration),
            int(self.config.max_cache_duration),
        )
        og, image_id, cache_age = await self._open_graph(
            url, response, user, oembed_url is not None
        )
        if cache_age is not None:
            lifetime = min(cache_age, int(self.config.max_cache_duration))
        text = json.dumps(_prune(og))
        now = self.clock.time_msec()
        await self.store.insert_url_cache(
            url,
            CachedPreview(now, now + lifetime, response.code, text, image_id),
            now,
        )
        return text

    async def _open_graph(
        self, url: str, response: OutboundResponse, user: UserID, via_oembed: bool
    ) -> tuple[dict[str, Any], str | None, int | None]:
        """Open Graph data, the media ID of its stored image and the oEmbed
        cache age (ms), if any, of a fetched response."""
        ctype = content_type_of(response)
        mtype = media_type(ctype)
        if mtype.startswith("image/"):
            image = await self.fetcher.store_image(response, user)
            if image is None:
                return {}, None, None
            return image.og(), image.media_id, None
        oembed: OEmbedResult | None = None
        if _is_html(mtype):
            body = response.body
            og, link = await self.runner(lambda: _parse_page(body, ctype, response.url))
            if link is not None:
                oembed = await self._discovered_oembed(url, link)
            if oembed is not None:
                og = {**oembed.og, **og}  # the page's own tags win
        elif via_oembed and _is_json(mtype):
            body = response.body
            oembed = await self.runner(lambda: parse_oembed(url, body))
            og = dict(oembed.og)
        else:
            raise MatrixError(
                502,
                "Requested file's content type not allowed for this operation",
                Codes.UNKNOWN,
            )
        if not og.get("og:title") and oembed is not None and oembed.author_name:
            og["og:title"] = oembed.author_name
        image_id = await self._store_image(og, response.url, user)
        return og, image_id, (oembed.cache_age_ms if oembed else None)

    async def _store_image(
        self, og: dict[str, Any], base_url: str, user: UserID
    ) -> str | None:
        """Replace ``og:image`` by the stored copy of the image it names (and
        its real type, size and dimensions); without it (and the page's own
        ``og:image:*`` claims) when it cannot be stored. Its media ID, if stored."""
        image_url = og.pop("og:image", None)
        for key in [k for k in og if k.startswith("og:image:")]:
            del og[key]
        if not isinstance(image_url, str) or not image_url.strip():
            return None
        image = await self.fetcher.fetch_image(urljoin(base_url, image_url), user)
        if image is None:
            return None
        og.update(image.og())
        return image.media_id

    async def _discovered_oembed(self, url: str, link: str) -> OEmbedResult | None:
        """The oEmbed data a page links to; None (logged) if it cannot be had."""
        if urlsplit(link).scheme not in ("http", "https"):
            return None
        try:
            response = await self.fetcher.fetch(link)
        except MatrixError as exc:
            logger.info("URL preview oEmbed fetch failed: %s", exc.msg)
            return None
        if not _is_json(media_type(content_type_of(response))):
            return None
        return parse_oembed(url, response.body)
