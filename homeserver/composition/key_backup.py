"""The key backup domain: server-side backups of clients' encrypted room keys
(part of end-to-end encryption; needs nothing but the database)."""

from __future__ import annotations

import attrs

from homeserver.composition.core import Core
from homeserver.services.e2ee.key_backup import KeyBackupService
from homeserver.storage.stores.key_backup import KeyBackupStore


@attrs.frozen(kw_only=True)
class KeyBackupBundle:
    """Backup versions and their keys."""

    store: KeyBackupStore
    service: KeyBackupService

    @classmethod
    def build(cls, *, core: Core) -> KeyBackupBundle:
        store = KeyBackupStore(core.db)
        return cls(store=store, service=KeyBackupService(store))
