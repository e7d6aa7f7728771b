"""The presence domain: who is online, its timer, the presence stream."""

from __future__ import annotations

import attrs

from homeserver.composition.accounts import AccountsBundle
from homeserver.composition.core import Core
from homeserver.services.presence.presence import PresenceService
from homeserver.storage.stores.presence import PresenceStore
from homeserver.streams.registry import PRESENCE


@attrs.frozen(kw_only=True)
class PresenceBundle:
    """Presence state and its store."""

    store: PresenceStore
    service: PresenceService

    @classmethod
    def build(cls, *, core: Core, accounts: AccountsBundle) -> PresenceBundle:
        store = PresenceStore(core.db)
        return cls(
            store=store,
            service=PresenceService(
                server_name=core.server_name,
                config=core.config.presence,
                store=store,
                users=accounts.stores.users,
                notifier=core.notifier,
                stream_ids=core.streams.ids(PRESENCE),
                changed=core.signals.presence_changed,
                clock=core.clock,
            ),
        )
