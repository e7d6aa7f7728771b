"""The sync domain: /sync over the events stream and every other stream's
source, with filters and the in-memory change caches."""

from __future__ import annotations

import attrs

from homeserver.composition.core import Core
from homeserver.composition.devices import DevicesBundle
from homeserver.composition.e2ee import E2eeBundle
from homeserver.composition.presence import PresenceBundle
from homeserver.composition.reading import ReadingBundle
from homeserver.composition.sync_data import SyncDataBundle
from homeserver.services.sliding_sync.extensions.account_data import (
    AccountDataExtension,
)
from homeserver.services.sliding_sync.extensions.context import SlidingExtension
from homeserver.services.sliding_sync.extensions.e2ee import E2eeExtension
from homeserver.services.sliding_sync.extensions.receipts import ReceiptsExtension
from homeserver.services.sliding_sync.extensions.to_device import (
    IgnoredUsers,
    ToDeviceExtension,
)
from homeserver.services.sliding_sync.extensions.typing import TypingExtension
from homeserver.services.sliding_sync.room_list import RoomList
from homeserver.services.sliding_sync.rooms.builder import FullRoomBuilder
from homeserver.services.sliding_sync.service import SlidingSyncService
from homeserver.services.sync.changes import SyncChanges
from homeserver.services.sync.filter_service import FilterService
from homeserver.services.sync.sources import SyncSources
from homeserver.services.sync.sync import SyncService
from homeserver.services.sync.sync_rooms import RoomSyncBuilder
from homeserver.services.sync.unread import UnreadCounter
from homeserver.services.sync_data.receipts import RECEIPT_TYPES
from homeserver.storage.stores.filters import FilterStore
from homeserver.storage.stores.sliding_sync import SlidingSyncStore
from homeserver.storage.stores.sync import SyncBatchStore, SyncStore
from homeserver.storage.stores.unread_counts import UnreadCountsStore
from homeserver.streams.registry import EVENTS


@attrs.frozen(kw_only=True)
class SyncBundle:
    """/sync and its filters."""

    filters: FilterService
    changes: SyncChanges
    service: SyncService
    sliding: SlidingSyncService

    @classmethod
    def build(
        cls,
        *,
        core: Core,
        reading: ReadingBundle,
        sync_data: SyncDataBundle,
        presence: PresenceBundle,
        devices: DevicesBundle,
        e2ee: E2eeBundle,
    ) -> SyncBundle:
        db = core.db
        filters = FilterService(FilterStore(db))
        changes = SyncChanges(core.notifier)
        sources = SyncSources(
            account_data=sync_data.account_data,
            receipts=sync_data.receipts,
            typing=sync_data.typing,
            to_device=sync_data.to_device,
            presence=presence.service,
            device_lists=devices.lists,
            e2e_keys=e2ee.keys,
        )
        rooms = RoomSyncBuilder(
            store=SyncBatchStore(db),
            events=core.events,
            event_state=core.event_state,
            visibility=reading.visibility,
            serializer=reading.serializer,
        )
        service = SyncService(
            store=SyncStore(db),
            room_state=core.room_state,
            rooms=rooms,
            filters=filters,
            notifier=core.notifier,
            changes=changes,
            sources=sources,
            personal=reading.personal,
            clock=core.clock,
            unread=UnreadCounter(
                store=UnreadCountsStore(db, RECEIPT_TYPES, core.clock),
                clock=core.clock,
            ),
        )
        sliding_store = SlidingSyncStore(db)
        sliding = SlidingSyncService(
            room_list=RoomList(sliding_store, changes, sync_data.account_data),
            builder=FullRoomBuilder(
                rooms=rooms,
                store=sliding_store,
                room_state=core.room_state,
                personal=reading.personal,
                unread=service.unread,
            ),
            notifier=core.notifier,
            presence=presence.service,
            clock=core.clock,
            extensions=sliding_extensions(sources, changes, reading.personal),
        )
        return cls(filters=filters, changes=changes, service=service, sliding=sliding)

    def start(self, core: Core) -> None:
        """Once the streams are loaded: changes before now are unknown to the
        change caches."""
        self.changes.start(core.streams.ids(EVENTS).current_position())


def sliding_extensions(
    sources: SyncSources, changes: SyncChanges, personal: IgnoredUsers
) -> list[SlidingExtension]:
    """The sliding-sync extensions, over the /sync sources."""
    return [
        ToDeviceExtension(sources.to_device, personal),
        E2eeExtension(sources.device_lists, sources.e2e_keys, changes),
        AccountDataExtension(sources.account_data),
        ReceiptsExtension(sources.receipts),
        TypingExtension(sources.typing),
    ]
