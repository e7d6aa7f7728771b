"""The user directory domain: searching for users, keeping the index, and
mutual rooms."""

from __future__ import annotations

import attrs

from homeserver.composition.core import Core
from homeserver.services.user_directory.index import UserDirectoryIndex
from homeserver.services.user_directory.mutual_rooms import MutualRoomsService
from homeserver.services.user_directory.search import UserDirectoryService
from homeserver.storage.stores.user_directory import UserDirectoryStore


@attrs.frozen(kw_only=True)
class UserDirectoryBundle:
    """Finding users. ``index`` follows membership and room state signals
    (connected in ``bind``)."""

    store: UserDirectoryStore
    search: UserDirectoryService
    index: UserDirectoryIndex
    mutual_rooms: MutualRoomsService

    @classmethod
    def build(cls, *, core: Core) -> UserDirectoryBundle:
        store = UserDirectoryStore(core.db)
        return cls(
            store=store,
            search=UserDirectoryService(
                core.config.user_directory, core.server_name, store
            ),
            index=UserDirectoryIndex(
                core.server_name, store, core.room_state, core.events
            ),
            mutual_rooms=MutualRoomsService(store),
        )
