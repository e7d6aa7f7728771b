"""Redacting a user's events for server admins (Synapse's "Redact events of
a user", ``POST /_synapse/admin/v1/user/{userId}/redact``), in the
background with a status: a local user is puppeted to redact their own
events; another server's user's events are redacted by the admin (as with
``use_admin``), which the room's power levels must allow."""

from __future__ import annotations

from typing import Protocol

from homeserver.errors import MatrixError, NotFound
from homeserver.events.model import EventTypes, Membership
from homeserver.services.accounts.auth import Requester
from homeserver.services.rooms.admin_tasks import AdminTasks, Progress
from homeserver.services.rooms.room_events import RoomEventService
from homeserver.storage.stores.events import EventStore
from homeserver.storage.stores.room_admin import RoomAdminStore, UserEventsQuery
from homeserver.types import JsonDict, UserID

REDACT_TASK = "redact_user"
# As Synapse: messages, encrypted messages and joins (which carry the
# display name and avatar).
_TYPES = [EventTypes.MEMBER, EventTypes.MESSAGE, EventTypes.ENCRYPTED]


class RedactRequest(Protocol):
    """A POST /_synapse/admin/v1/user/{userId}/redact body."""

    @property
    def rooms(self) -> list[str]: ...
    @property
    def reason(self) -> str | None: ...
    @property
    def limit(self) -> int: ...
    @property
    def use_admin(self) -> bool: ...
    @property
    def before_ts(self) -> int | None: ...
    @property
    def after_ts(self) -> int | None: ...


class UserRedaction:
    """Starts redactions of a user's events and reports on them."""

    def __init__(
        self,
        *,
        server_name: str,
        store: RoomAdminStore,
        events: EventStore,
        room_events: RoomEventService,
        tasks: AdminTasks,
    ) -> None:
        self.server_name = server_name
        self.store = store
        self.events = events
        self.room_events = room_events
        self.tasks = tasks

    async def start(
        self, admin: Requester, user_id: str, body: RedactRequest
    ) -> JsonDict:
        """``{"redact_id"}``; the redactions run in the background."""
        user = UserID.parse(user_id)
        rooms = list(body.rooms) or await self.store.get_rooms_of_user(user_id)
        puppet = user.domain == self.server_name and not body.use_admin
        acting = Requester(user, "", "") if puppet else admin
        query = UserEventsQuery(
            user_id=user.to_string(),
            types=_TYPES,
            limit=body.limit,
            before_ts=body.before_ts,
            after_ts=body.after_ts,
        )

        async def work(progress: Progress) -> None:
            for room_id in rooms:
                await self._redact_room(acting, query, room_id, body.reason, progress)

        redact_id = await self.tasks.start(
            REDACT_TASK, user.to_string(), {"failed_redactions": {}}, work
        )
        return {"redact_id": redact_id}

    async def _redact_room(
        self,
        acting: Requester,
        query: UserEventsQuery,
        room_id: str,
        reason: str | None,
        progress: Progress,
    ) -> None:
        event_ids = await self.store.get_events_of_user(query, room_id)
        events = await self.events.get_events(event_ids)
        failed = progress.result["failed_redactions"]
        for event_id in event_ids:
            event = events.get(event_id)
            if event is None or (
                event.type == EventTypes.MEMBER and event.membership != Membership.JOIN
            ):
                continue
            try:
                await self.room_events.redact(acting, room_id, event_id, None, reason)
            except MatrixError as exc:
                failed[event_id] = exc.msg
        await progress.update()

    async def status(self, redact_id: str) -> JsonDict:
        """GET /_synapse/admin/v1/user/redact_status/{redact_id}."""
        task = await self.tasks.get(REDACT_TASK, redact_id)
        if task is None:
            raise NotFound(f"redact id '{redact_id}' not found")
        body: JsonDict = {
            "status": task.status,
            "failed_redactions": task.result.get("failed_redactions", {}),
        }
        if task.error is not None:
            body["error"] = task.error
        return body
