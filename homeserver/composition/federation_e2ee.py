"""The federation wing's part for devices and end-to-end encryption keys:
device list and signing key EDUs, the remote device list cache's resync, and
user key queries and claims in both directions."""

from __future__ import annotations

import attrs

from homeserver.composition.accounts import AccountsBundle
from homeserver.composition.core import Core
from homeserver.composition.devices import DevicesBundle
from homeserver.composition.e2ee import E2eeBundle
from homeserver.composition.presence import PresenceBundle
from homeserver.federation.edus import device_lists as device_list_edus
from homeserver.federation.edus import signing_keys as signing_key_edus
from homeserver.federation.edus.device_list_resync import DeviceListResync
from homeserver.federation.edus.registry import EduRegistry
from homeserver.federation.interfaces import FederationTransport
from homeserver.federation.sender.sender import FederationSender
from homeserver.federation.serving.user_keys import FederationUserKeys, RemoteUserKeys
from homeserver.util.linearizer import Linearizer


@attrs.frozen(kw_only=True)
class FederationE2ee:
    """Device lists and keys between servers."""

    resync: DeviceListResync
    device_lists: device_list_edus.DeviceListEdus
    signing_keys: signing_key_edus.SigningKeyEdus
    user_keys: FederationUserKeys
    remote_keys: RemoteUserKeys

    @classmethod
    def build(
        cls,
        *,
        core: Core,
        registry: EduRegistry,
        sender: FederationSender,
        transport: FederationTransport,
        accounts: AccountsBundle,
        devices: DevicesBundle,
        e2ee: E2eeBundle,
        presence: PresenceBundle,
    ) -> FederationE2ee:
        name = core.server_name
        resync = DeviceListResync(
            server_name=name,
            transport=transport,
            cache=e2ee.remote_devices,
            tracker=devices.lists,
            co_members=presence.store,
            clock=core.clock,
            linearizer=Linearizer(),
        )
        part = cls(
            resync=resync,
            device_lists=device_list_edus.DeviceListEdus(
                server_name=name,
                sender=sender,
                tracker=devices.lists,
                store=devices.list_store,
                devices=accounts.stores.devices,
                keys=e2ee.key_store,
                cache=e2ee.remote_devices,
                resync=resync,
            ),
            signing_keys=signing_key_edus.SigningKeyEdus(
                server_name=name,
                sender=sender,
                query=e2ee.query,
                co_members=presence.store,
                cache=e2ee.remote_devices,
                tracker=devices.lists,
                resync=resync,
            ),
            user_keys=FederationUserKeys(
                server_name=name,
                query=e2ee.query,
                devices=accounts.stores.devices,
                positions=devices.lists,
            ),
            remote_keys=RemoteUserKeys(
                transport=transport,
                cache=e2ee.remote_devices,
                cross_signing=e2ee.cross_signing_store,
                resync=resync,
            ),
        )
        registry.register(device_list_edus.EDU_TYPE, part.device_lists.handle)
        registry.register(signing_key_edus.EDU_TYPE, part.signing_keys.handle)
        return part
