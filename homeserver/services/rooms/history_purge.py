"""Purging a room's history before an event or a time, for server admins
(Synapse's ``docs/admin_api/purge_history_api.md``), in the background with
a status to poll. The purge itself is one transaction
(``storage/stores/room_purge.py``): state and forward extremities stay, so
the room's DAG and auth are intact, and the latest event is never purged."""

from __future__ import annotations

from homeserver.errors import Codes, MatrixError, NotFound
from homeserver.services.rooms.admin_tasks import AdminTasks, Progress
from homeserver.services.rooms.room_admin import check_room_id
from homeserver.storage.stores.events import EventStore
from homeserver.storage.stores.room_purge import RoomPurgeStore
from homeserver.storage.stores.room_state import RoomStateStore
from homeserver.types import JsonDict

PURGE_TASK = "purge_history"


def _bad(msg: str) -> MatrixError:
    return MatrixError(400, msg, Codes.UNKNOWN)


class HistoryPurge:
    """Starts history purges and reports on them."""

    def __init__(
        self,
        *,
        server_name: str,
        purges: RoomPurgeStore,
        events: EventStore,
        room_state: RoomStateStore,
        tasks: AdminTasks,
    ) -> None:
        self.server_name = server_name
        self.purges = purges
        self.events = events
        self.room_state = room_state
        self.tasks = tasks

    async def _cutoff(
        self, room_id: str, event_id: str | None, before_ts: int | None
    ) -> int:
        """The depth below which events go."""
        if event_id is not None:
            event = await self.events.get_event(event_id)
            if event is None or event.room_id != room_id:
                raise _bad("Event is for wrong room.")
            return int(event.pdu.get("depth", 0))
        if before_ts is not None:
            depth = await self.purges.get_depth_before_ts(room_id, before_ts)
            if depth is None:
                raise _bad("there is no event to be purged")
            # Synapse purges up to, not including, that last event.
            return depth
        raise MatrixError(
            400,
            "must specify purge_up_to_event_id or purge_up_to_ts",
            Codes.INVALID_PARAM,
        )

    async def start(
        self,
        room_id: str,
        event_id: str | None,
        before_ts: int | None,
        delete_local_events: bool,
    ) -> JsonDict:
        """POST /_synapse/admin/v1/purge_history/{roomId}[/{eventId}]:
        ``{"purge_id"}``; the purge runs in the background."""
        check_room_id(room_id)
        if await self.room_state.get_room_version(room_id) is None:
            raise NotFound("Room not found")
        depth = await self._cutoff(room_id, event_id, before_ts)
        extremity = await self.purges.get_max_extremity_depth(room_id)
        if extremity is not None and extremity < depth:
            raise _bad("topological_ordering is greater than forward extremities")
        running = [
            t
            for t in await self.tasks.get_for(PURGE_TASK, room_id)
            if t.status in ("scheduled", "active")
        ]
        if running:
            raise _bad(f"History purge already in progress for {room_id}")

        async def work(progress: Progress) -> None:
            done = await self.purges.purge_history(
                room_id, depth, self.server_name, delete_local_events
            )
            progress.result.update(deleted=done.deleted, kept=done.kept)

        purge_id = await self.tasks.start(PURGE_TASK, room_id, {}, work)
        return {"purge_id": purge_id}

    async def status(self, purge_id: str) -> JsonDict:
        """GET /_synapse/admin/v1/purge_history_status/{purge_id}."""
        task = await self.tasks.get(PURGE_TASK, purge_id)
        if task is None:
            raise NotFound(f"purge id '{purge_id}' not found")
        status = "active" if task.status == "scheduled" else task.status
        body: JsonDict = {"status": status}
        if task.error is not None:
            body["error"] = task.error
        return body
