"""The e2ee domain: device, one-time, fallback and cross-signing keys, and
server-side key backups."""

from __future__ import annotations

import attrs

from homeserver.composition.accounts import AccountsBundle
from homeserver.composition.core import Core
from homeserver.composition.devices import DevicesBundle
from homeserver.composition.sync_data import SyncDataBundle
from homeserver.services.e2ee.changes import KeyChangesService
from homeserver.services.e2ee.cross_signing import CrossSigningService
from homeserver.services.e2ee.dehydrated import DehydratedDeviceService
from homeserver.services.e2ee.key_backup import KeyBackupService
from homeserver.services.e2ee.keys import E2eKeyService
from homeserver.services.e2ee.query import KeyQueryService
from homeserver.services.e2ee.signatures_view import SignatureView
from homeserver.storage.stores.cross_signing import CrossSigningStore
from homeserver.storage.stores.dehydrated_devices import DehydratedDeviceStore
from homeserver.storage.stores.e2e_keys import E2eKeyStore
from homeserver.storage.stores.key_backup import KeyBackupStore
from homeserver.storage.stores.remote_devices import RemoteDeviceStore
from homeserver.streams.registry import TO_DEVICE


@attrs.frozen(kw_only=True)
class E2eeBundle:
    """Key upload, query and claim, cross-signing, /keys/changes, backups."""

    key_store: E2eKeyStore
    cross_signing_store: CrossSigningStore
    remote_devices: RemoteDeviceStore
    signatures: SignatureView
    keys: E2eKeyService
    query: KeyQueryService
    cross_signing: CrossSigningService
    changes: KeyChangesService
    backups: KeyBackupService
    dehydrated: DehydratedDeviceService

    @classmethod
    def build(
        cls,
        *,
        core: Core,
        accounts: AccountsBundle,
        devices: DevicesBundle,
        sync_data: SyncDataBundle,
    ) -> E2eeBundle:
        key_store = E2eKeyStore(core.db)
        cross_signing_store = CrossSigningStore(core.db)
        signatures = SignatureView(cross_signing_store)
        keys = E2eKeyService(
            store=key_store,
            signatures=signatures,
            devices_changed=core.signals.devices_changed,
        )
        return cls(
            key_store=key_store,
            cross_signing_store=cross_signing_store,
            remote_devices=RemoteDeviceStore(core.db),
            signatures=signatures,
            keys=keys,
            query=KeyQueryService(
                server_name=core.server_name,
                keys=keys,
                cross_signing=cross_signing_store,
                signatures=signatures,
            ),
            cross_signing=CrossSigningService(
                store=cross_signing_store,
                device_keys=key_store,
                uia=accounts.uia,
                changed=core.signals.cross_signing_changed,
                devices_changed=core.signals.devices_changed,
            ),
            changes=KeyChangesService(devices.lists),
            backups=KeyBackupService(KeyBackupStore(core.db)),
            dehydrated=DehydratedDeviceService(
                store=DehydratedDeviceStore(core.db),
                devices=accounts.stores.devices,
                keys=keys,
                inbox=sync_data.to_device,
                inbox_position=core.streams.ids(TO_DEVICE).current_position,
                clock=core.clock,
            ),
        )
