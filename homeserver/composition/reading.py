"""The reading domain: who may see which events, single reads, /messages and
/context, and the client event format."""

from __future__ import annotations

import attrs

from homeserver.composition.core import Core
from homeserver.services.reading.pagination import PaginationService
from homeserver.services.reading.room_reads import RoomReadService
from homeserver.services.reading.serializer import EventSerializer
from homeserver.services.reading.visibility import VisibilityService


@attrs.frozen(kw_only=True)
class ReadingBundle:
    """Reading rooms."""

    serializer: EventSerializer
    visibility: VisibilityService
    room_reads: RoomReadService
    pagination: PaginationService

    @classmethod
    def build(cls, *, core: Core) -> ReadingBundle:
        serializer = EventSerializer(core.events, core.clock)
        visibility = VisibilityService(core.events, core.event_state, core.room_state)
        return cls(
            serializer=serializer,
            visibility=visibility,
            room_reads=RoomReadService(
                events=core.events,
                room_state=core.room_state,
                event_state=core.event_state,
                stream=core.stream,
                visibility=visibility,
                serializer=serializer,
            ),
            pagination=PaginationService(
                events=core.events,
                stream=core.stream,
                event_state=core.event_state,
                visibility=visibility,
                serializer=serializer,
            ),
        )
