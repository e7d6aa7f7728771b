"""The reading domain: who may see which events, single reads, /messages and
/context, the client event format, and what each user chose not to see
(ignored users, hidden events: the PersonalFilter every read path asks)."""

from __future__ import annotations

import attrs

from homeserver.composition.core import Core
from homeserver.composition.sync_data import SyncDataBundle
from homeserver.services.reading.hidden_events import HiddenEventsService
from homeserver.services.reading.pagination import PaginationService
from homeserver.services.reading.personal import PersonalFilter
from homeserver.services.reading.room_reads import RoomReadService
from homeserver.services.reading.serializer import EventSerializer
from homeserver.services.reading.visibility import VisibilityService
from homeserver.storage.stores.hidden_events import HiddenEventsStore
from homeserver.storage.stores.users import UserStore


@attrs.frozen(kw_only=True)
class ReadingBundle:
    """Reading rooms."""

    serializer: EventSerializer
    visibility: VisibilityService
    room_reads: RoomReadService
    pagination: PaginationService
    personal: PersonalFilter
    hidden: HiddenEventsService

    @classmethod
    def build(cls, *, core: Core, sync_data: SyncDataBundle) -> ReadingBundle:
        serializer = EventSerializer(core.events, core.clock)
        visibility = VisibilityService(
            core.events,
            core.event_state,
            core.room_state,
            erased=UserStore(core.db).get_erased,
        )
        hidden_store = HiddenEventsStore(core.db)
        personal = PersonalFilter(sync_data.account_data, hidden_store)
        return cls(
            serializer=serializer,
            visibility=visibility,
            personal=personal,
            hidden=HiddenEventsService(
                store=hidden_store,
                events=core.events,
                visibility=visibility,
                room_data=sync_data.account_data,
                clock=core.clock,
            ),
            room_reads=RoomReadService(
                events=core.events,
                room_state=core.room_state,
                event_state=core.event_state,
                stream=core.stream,
                visibility=visibility,
                personal=personal,
                serializer=serializer,
            ),
            pagination=PaginationService(
                events=core.events,
                stream=core.stream,
                event_state=core.event_state,
                visibility=visibility,
                personal=personal,
                serializer=serializer,
            ),
        )
