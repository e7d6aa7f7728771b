"""Uploading and resolving sync filters.

Spec: client-server API, "Filtering".
"""

from __future__ import annotations

import json

from homeserver.errors import BadJson, Forbidden, InvalidParam, NotFound
from homeserver.services.accounts.auth import Requester
from homeserver.services.reading.filters import Filter, parse_filter
from homeserver.storage.stores.filters import FilterStore
from homeserver.types import JsonDict, UserID
from homeserver.util.caches import LruCache

PARSED_CACHE_SIZE = 10_000
INLINE_CACHE_SIZE = 1_000
# No filter at all; shared, as filters are never changed once built.
_NO_FILTER = Filter()


class FilterService:
    """Stores filters and turns a ``filter`` parameter into a Filter."""

    def __init__(self, store: FilterStore) -> None:
        self.store = store
        # (user, filter ID as given) -> the parsed filter. A stored filter never
        # changes and is never deleted (an ID is never reused), so nothing
        # invalidates this; clients send the same filter ID with every /sync.
        self._parsed: LruCache[tuple[str, str], Filter] = LruCache(
            "parsed_filters", PARSED_CACHE_SIZE
        )
        # Inline JSON filter -> parsed: a sync stream (or a long-poller) sends
        # the same one with every request, so it is parsed once.
        self._inline: LruCache[str, Filter] = LruCache(
            "parsed_inline_filters", INLINE_CACHE_SIZE
        )

    @staticmethod
    def _own(requester: Requester, user_id: str) -> None:
        UserID.parse(user_id)
        if requester.user_id != user_id:
            raise Forbidden("Cannot use another user's filters")

    async def create(
        self, requester: Requester, user_id: str, body: JsonDict
    ) -> JsonDict:
        """POST /user/{userId}/filter."""
        self._own(requester, user_id)
        parse_filter(Filter, body)  # validate before storing
        filter_id = await self.store.add_filter(user_id, body)
        return {"filter_id": str(filter_id)}

    async def get(self, requester: Requester, user_id: str, filter_id: str) -> JsonDict:
        """GET /user/{userId}/filter/{filterId}."""
        self._own(requester, user_id)
        definition = await self._lookup(user_id, filter_id)
        return definition

    async def _lookup(self, user_id: str, filter_id: str) -> JsonDict:
        # ASCII digits only ("²" is a digit to str.isdigit, not to int), and
        # no more than the 64-bit IDs the databases store.
        if not (filter_id.isascii() and filter_id.isdigit()) or len(filter_id) > 18:
            raise NotFound("No such filter")
        definition = await self.store.get_filter(user_id, int(filter_id))
        if definition is None:
            raise NotFound("No such filter")
        return definition

    async def resolve(self, user_id: str, param: str | None) -> Filter:
        """The filter a /sync ``filter`` parameter names: inline JSON or an ID."""
        if not param:
            return _NO_FILTER
        if param.lstrip().startswith("{"):
            inline = self._inline.get(param)
            if inline is None:
                inline = self._parse_inline(param)
                self._inline.set(param, inline)
            return inline
        key = (user_id, param)
        cached = self._parsed.get(key)
        if cached is not None:
            return cached
        parsed = parse_filter(Filter, await self._lookup(user_id, param))
        self._parsed.set(key, parsed)
        return parsed

    @staticmethod
    def _parse_inline(param: str) -> Filter:
        """An inline JSON filter; 400 if it is not a valid one."""
        try:
            data = json.loads(param)
        except (ValueError, RecursionError):
            raise InvalidParam("filter is not valid JSON") from None
        if not isinstance(data, dict):
            raise BadJson("filter must be an object")
        return parse_filter(Filter, data)
