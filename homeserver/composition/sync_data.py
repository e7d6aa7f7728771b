"""The sync_data domain: the non-event streams /sync serves (account data with
room tags, receipts and read markers, typing, to-device messages)."""

from __future__ import annotations

import attrs

from homeserver.composition.accounts import AccountsBundle
from homeserver.composition.core import Core
from homeserver.composition.rooms import RoomsBundle
from homeserver.services.sync_data.account_data import AccountDataService
from homeserver.services.sync_data.receipts import ReceiptService
from homeserver.services.sync_data.tags import TagService
from homeserver.services.sync_data.to_device import ToDeviceService
from homeserver.services.sync_data.typing import TypingService
from homeserver.storage.stores.account_data import AccountDataStore
from homeserver.storage.stores.device_inbox import DeviceInboxStore
from homeserver.storage.stores.receipts import ReceiptStore
from homeserver.streams.registry import ACCOUNT_DATA, RECEIPTS, TO_DEVICE, TYPING


@attrs.frozen(kw_only=True)
class SyncDataBundle:
    """The services of the account data, receipts, typing and to-device streams."""

    account_data: AccountDataService
    tags: TagService
    receipts: ReceiptService
    typing: TypingService
    to_device: ToDeviceService

    @classmethod
    def build(
        cls, *, core: Core, accounts: AccountsBundle, rooms: RoomsBundle
    ) -> SyncDataBundle:
        db, streams, signals = core.db, core.streams, core.signals
        account_data = AccountDataService(
            AccountDataStore(db, streams.ids(ACCOUNT_DATA)),
            core.notifier,
            signals.account_data_changed,
        )
        return cls(
            account_data=account_data,
            tags=TagService(account_data),
            receipts=ReceiptService(
                store=ReceiptStore(db, streams.ids(RECEIPTS)),
                events=core.events,
                permissions=rooms.permissions,
                account_data=account_data,
                notifier=core.notifier,
                stored=signals.receipt_stored,
                clock=core.clock,
            ),
            typing=TypingService(
                permissions=rooms.permissions,
                notifier=core.notifier,
                stream_ids=streams.ids(TYPING),
                changed=signals.typing_changed,
                clock=core.clock,
            ),
            to_device=ToDeviceService(
                server_name=core.server_name,
                store=DeviceInboxStore(db, streams.ids(TO_DEVICE)),
                devices=accounts.stores.devices,
                notifier=core.notifier,
                clock=core.clock,
                config=core.config.to_device,
                ratelimiter=core.ratelimiter,
                rates=core.config.rate_limiting,
                delivered=signals.to_device_delivered,
            ),
        )
