"""The search domain: full-text search over room events (POST /search)."""

from __future__ import annotations

import attrs

from homeserver.composition.core import Core
from homeserver.composition.reading import ReadingBundle
from homeserver.services.search.context import SearchContexts
from homeserver.services.search.rooms import SearchableRooms
from homeserver.services.search.service import SearchService
from homeserver.storage.stores.search import SearchStore


@attrs.frozen(kw_only=True)
class SearchBundle:
    """Searching rooms. The index itself is written by the Core's persister."""

    service: SearchService

    @classmethod
    def build(cls, *, core: Core, reading: ReadingBundle) -> SearchBundle:
        return cls(
            service=SearchService(
                enabled=core.config.server.enable_search,
                store=SearchStore(core.db),
                events=core.events,
                event_state=core.event_state,
                room_state=core.room_state,
                visibility=reading.visibility,
                serializer=reading.serializer,
                contexts=SearchContexts(
                    events=core.events,
                    event_state=core.event_state,
                    visibility=reading.visibility,
                    pagination=reading.pagination,
                    serializer=reading.serializer,
                ),
                rooms=SearchableRooms(core.events, core.room_state, reading.visibility),
            )
        )
