"""The devices domain: device management and the device_lists stream (the
part of end-to-end encryption the server keeps)."""

from __future__ import annotations

import attrs

from homeserver.composition.accounts import AccountsBundle
from homeserver.composition.core import Core
from homeserver.composition.presence import PresenceBundle
from homeserver.services.devices.device_lists import DeviceListTracker
from homeserver.services.devices.devices import DeviceService
from homeserver.storage.stores.device_lists import DeviceListStore
from homeserver.streams.registry import DEVICE_LISTS


@attrs.frozen(kw_only=True)
class DevicesBundle:
    """Devices and their change stream."""

    service: DeviceService
    list_store: DeviceListStore
    lists: DeviceListTracker

    @classmethod
    def build(
        cls, *, core: Core, accounts: AccountsBundle, presence: PresenceBundle
    ) -> DevicesBundle:
        list_store = DeviceListStore(core.db, core.streams.ids(DEVICE_LISTS))
        return cls(
            service=DeviceService(accounts.stores.devices, accounts.uia, core.clock),
            list_store=list_store,
            lists=DeviceListTracker(
                store=list_store,
                co_members=presence.store,
                notifier=core.notifier,
                changed=core.signals.device_list_changed,
                remote_changed=core.signals.remote_device_list_changed,
            ),
        )
