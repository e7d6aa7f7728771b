"""Composition of the non-event streams /sync serves: account data (with room
tags), receipts and read markers, typing, and to-device messages.

Part of the composition root (``server.py`` calls it), split out so that
``server.py`` stays small: every component still receives exactly its
collaborators, and each stream is registered with the notifier here.
"""

from __future__ import annotations

from typing import Any

import attrs

from homeserver.api.client import account_data as account_data_api
from homeserver.api.client import receipts as receipts_api
from homeserver.api.client import to_device as to_device_api
from homeserver.api.client import typing as typing_api
from homeserver.config.model import HomeserverConfig
from homeserver.events.model import Event
from homeserver.services.accounts.auth import Auth
from homeserver.services.rooms.room_permissions import RoomPermissions
from homeserver.services.sync_data.account_data import (
    ACCOUNT_DATA_STREAM,
    AccountDataService,
)
from homeserver.services.sync_data.receipts import RECEIPTS_STREAM, ReceiptService
from homeserver.services.sync_data.tags import TagService
from homeserver.services.sync_data.to_device import TO_DEVICE_STREAM, ToDeviceService
from homeserver.services.sync_data.typing import TYPING_STREAM, TypingService
from homeserver.storage.database import Database
from homeserver.storage.id_generators import StreamIdGenerator
from homeserver.storage.stores.account_data import AccountDataStore
from homeserver.storage.stores.device_inbox import DeviceInboxStore
from homeserver.storage.stores.devices import DeviceStore
from homeserver.storage.stores.events import EventStore
from homeserver.storage.stores.receipts import ReceiptStore
from homeserver.streams.notifier import Notifier
from homeserver.util.clock import Clock
from homeserver.util.ratelimit import Ratelimiter


@attrs.define
class SyncDataServices:
    """The services of the account data, receipts, typing and to-device streams."""

    account_data: AccountDataService
    tags: TagService
    receipts: ReceiptService
    typing: TypingService
    to_device: ToDeviceService
    account_data_ids: StreamIdGenerator
    receipt_ids: StreamIdGenerator
    to_device_ids: StreamIdGenerator

    @classmethod
    def build(
        cls,
        db: Database,
        server_name: str,
        events: EventStore,
        permissions: RoomPermissions,
        device_store: DeviceStore,
        notifier: Notifier,
        clock: Clock,
        config: HomeserverConfig,
        ratelimiter: Ratelimiter,
    ) -> SyncDataServices:
        """Build the stores and services and register their streams."""
        account_data_ids = StreamIdGenerator(0)
        receipt_ids = StreamIdGenerator(0)
        to_device_ids = StreamIdGenerator(0)
        account_data = AccountDataService(
            AccountDataStore(db, account_data_ids), notifier
        )
        typing = TypingService(permissions, notifier, clock)
        services = cls(
            account_data=account_data,
            tags=TagService(account_data),
            receipts=ReceiptService(
                ReceiptStore(db, receipt_ids),
                events,
                permissions,
                account_data,
                notifier,
                clock,
            ),
            typing=typing,
            to_device=ToDeviceService(
                server_name,
                DeviceInboxStore(db, to_device_ids),
                device_store,
                notifier,
                clock,
                config.to_device,
                ratelimiter,
                config.rate_limiting,
            ),
            account_data_ids=account_data_ids,
            receipt_ids=receipt_ids,
            to_device_ids=to_device_ids,
        )
        notifier.add_stream(ACCOUNT_DATA_STREAM, account_data_ids.current_position)
        notifier.add_stream(RECEIPTS_STREAM, receipt_ids.current_position)
        notifier.add_stream(TYPING_STREAM, typing.current_position)
        notifier.add_stream(TO_DEVICE_STREAM, to_device_ids.current_position)
        return services

    async def load(self, db: Database) -> None:
        """Continue each stored stream after its highest position (at start-up).

        The to-device stream also reads the transaction table, whose newest row
        outlives the inboxes, so it never restarts below a position a client
        may hold.
        """
        await self.account_data_ids.load(db, "account_data", "stream_id")
        await self.receipt_ids.load(db, "receipts", "stream_id")
        await self.to_device_ids.load(db, "device_inbox", "stream_id")
        await self.to_device_ids.load(db, "device_inbox_txns", "stream_id")

    def on_new_event(self, event: Event) -> None:
        """EventCreationService listener (senders and leavers stop typing)."""
        self.typing.on_new_event(event)

    def endpoints(self, auth: Auth) -> list[Any]:
        """The client endpoints of these streams."""
        return [
            account_data_api.AccountDataEndpoint(auth, self.account_data),
            account_data_api.RoomAccountDataEndpoint(auth, self.account_data),
            account_data_api.TagsEndpoint(auth, self.tags),
            account_data_api.TagEndpoint(auth, self.tags),
            receipts_api.ReceiptEndpoint(auth, self.receipts),
            receipts_api.ReadMarkersEndpoint(auth, self.receipts),
            typing_api.TypingEndpoint(auth, self.typing),
            to_device_api.SendToDeviceEndpoint(auth, self.to_device),
        ]
