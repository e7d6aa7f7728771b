"""The room admin API's services: room reads, blocks and room admin,
room deletion, history purges and the admin jobs behind them
(``/_synapse/admin/v1|v2/rooms/...``, ``purge_history``)."""

from __future__ import annotations

import attrs

from homeserver.composition.accounts import AccountsBundle
from homeserver.composition.core import Core
from homeserver.composition.rooms import RoomsBundle
from homeserver.services.rooms.admin_tasks import AdminTasks
from homeserver.services.rooms.history_purge import HistoryPurge
from homeserver.services.rooms.room_admin import RoomAdmin
from homeserver.services.rooms.room_shutdown import RoomShutdown
from homeserver.services.rooms.user_redaction import UserRedaction
from homeserver.storage.stores.admin_tasks import AdminTaskStore
from homeserver.storage.stores.room_admin import RoomAdminStore
from homeserver.storage.stores.room_purge import RoomPurgeStore


@attrs.frozen(kw_only=True)
class RoomAdminBundle:
    """The services behind the room admin API."""

    store: RoomAdminStore
    tasks: AdminTasks
    rooms: RoomAdmin
    shutdown: RoomShutdown
    purges: HistoryPurge
    redaction: UserRedaction

    @classmethod
    def build(
        cls, *, core: Core, accounts: AccountsBundle, rooms: RoomsBundle
    ) -> RoomAdminBundle:
        server_name = core.server_name
        store = RoomAdminStore(core.db, server_name)
        purge_store = RoomPurgeStore(core.db, core.events, core.room_state)
        tasks = AdminTasks(AdminTaskStore(core.db), core.clock)
        room_admin = RoomAdmin(
            server_name=server_name,
            store=store,
            room_state=core.room_state,
            events=core.events,
            creator=rooms.event_creation,
            membership=rooms.membership,
            users=accounts.stores.users,
            clock=core.clock,
        )
        shutdown = RoomShutdown(
            server_name=server_name,
            store=store,
            purges=purge_store,
            room_state=core.room_state,
            directory=rooms.directory_store,
            membership=rooms.membership,
            rooms=rooms.room_creation,
            creator=rooms.event_creation,
            tasks=tasks,
            clock=core.clock,
            default_room_version=core.config.server.default_room_version,
        )
        purges = HistoryPurge(
            server_name=server_name,
            purges=purge_store,
            events=core.events,
            room_state=core.room_state,
            tasks=tasks,
        )
        redaction = UserRedaction(
            server_name=server_name,
            store=store,
            events=core.events,
            room_events=rooms.room_events,
            tasks=tasks,
        )
        return cls(
            store=store,
            tasks=tasks,
            rooms=room_admin,
            shutdown=shutdown,
            purges=purges,
            redaction=redaction,
        )
