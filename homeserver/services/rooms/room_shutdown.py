"""Deleting a room for server admins (Synapse's Delete Room API, v1 and v2):
block it if asked, make every local member leave (and forget it), move them
and the room's local aliases to a new room if asked, take it out of the
directory, then purge it from the database."""

from __future__ import annotations

import logging
from typing import Any, Protocol

import attrs

from homeserver.errors import Codes, InvalidParam, MatrixError, NotFound
from homeserver.events.model import EventTypes, JoinRules, Membership
from homeserver.events.room_versions import get_room_version
from homeserver.services.accounts.auth import Requester
from homeserver.services.rooms.admin_tasks import AdminTasks, Progress
from homeserver.services.rooms.event_creation import EventCreationService
from homeserver.services.rooms.membership import MembershipService
from homeserver.services.rooms.room_admin import check_room_id
from homeserver.services.rooms.room_creation import (
    RoomCreationService,
    default_power_levels,
)
from homeserver.storage.stores.directory import DirectoryStore
from homeserver.storage.stores.room_admin import RoomAdminStore
from homeserver.storage.stores.room_purge import RoomPurgeStore
from homeserver.storage.stores.room_state import RoomStateStore
from homeserver.types import JsonDict, UserID
from homeserver.util.clock import Clock

logger = logging.getLogger(__name__)

DELETE_TASK = "delete_room"
DEFAULT_ROOM_NAME = "Content Violation Notification"
DEFAULT_MESSAGE = (
    "Sharing illegal content on this server is not permitted and rooms in"
    " violation will be blocked."
)


class DeleteParams(Protocol):
    """A DELETE /_synapse/admin/v1|v2/rooms/{roomId} body."""

    @property
    def new_room_user_id(self) -> str | None: ...
    @property
    def room_name(self) -> str | None: ...
    @property
    def message(self) -> str | None: ...
    @property
    def block(self) -> bool: ...
    @property
    def purge(self) -> bool: ...
    @property
    def force_purge(self) -> bool: ...


def empty_result() -> dict[str, Any]:
    """A shutdown's result before anything is done."""
    return {
        "kicked_users": [],
        "failed_to_kick_users": [],
        "local_aliases": [],
        "new_room_id": None,
    }


@attrs.frozen(kw_only=True)
class _Plan:
    room_id: str
    requester: str
    params: DeleteParams
    known: bool


class RoomShutdown:
    """Deletes rooms now (v1) or in the background (v2)."""

    def __init__(
        self,
        *,
        server_name: str,
        store: RoomAdminStore,
        purges: RoomPurgeStore,
        room_state: RoomStateStore,
        directory: DirectoryStore,
        membership: MembershipService,
        rooms: RoomCreationService,
        creator: EventCreationService,
        tasks: AdminTasks,
        clock: Clock,
        default_room_version: str,
    ) -> None:
        self.server_name = server_name
        self.store = store
        self.purges = purges
        self.room_state = room_state
        self.directory = directory
        self.membership = membership
        self.rooms = rooms
        self.creator = creator
        self.tasks = tasks
        self.clock = clock
        self.default_room_version = default_room_version

    async def _plan(
        self, requester: Requester, room_id: str, params: DeleteParams, v1: bool
    ) -> _Plan:
        check_room_id(room_id)
        if params.new_room_user_id is not None:
            user = UserID.parse(params.new_room_user_id)
            if user.domain != self.server_name:
                raise InvalidParam(f"User must be our own: {user.to_string()}")
        known = await self.room_state.get_room_version(room_id) is not None
        if not known and not (v1 and params.block):
            raise NotFound(f"Unknown room id {room_id}")
        return _Plan(
            room_id=room_id, requester=requester.user_id, params=params, known=known
        )

    async def delete_now(
        self, requester: Requester, room_id: str, params: DeleteParams
    ) -> JsonDict:
        """DELETE /_synapse/admin/v1/rooms/{roomId}: done when it answers.
        With ``block``, a room the server does not know is just blocked."""
        plan = await self._plan(requester, room_id, params, v1=True)
        result = empty_result()
        await self._shutdown(plan, result, None)
        return result

    async def delete_later(
        self, requester: Requester, room_id: str, params: DeleteParams
    ) -> JsonDict:
        """DELETE /_synapse/admin/v2/rooms/{roomId}: ``{"delete_id"}`` now,
        the work in the background."""
        plan = await self._plan(requester, room_id, params, v1=False)
        running = [
            t
            for t in await self.tasks.get_for(DELETE_TASK, room_id)
            if t.status in ("scheduled", "active")
        ]
        if running:
            raise MatrixError(
                400, f"Purge already in progress for {room_id}", Codes.UNKNOWN
            )

        async def work(progress: Progress) -> None:
            await self._shutdown(plan, progress.result, progress)

        delete_id = await self.tasks.start(DELETE_TASK, room_id, empty_result(), work)
        return {"delete_id": delete_id}

    async def _shutdown(
        self, plan: _Plan, result: dict[str, Any], progress: Progress | None
    ) -> None:
        room_id, params = plan.room_id, plan.params
        if params.block:
            await self.store.set_block(room_id, plan.requester, self.clock.time_msec())
        if not plan.known:
            return
        new_room_id = None
        if params.new_room_user_id is not None:
            new_room_id = await self._new_room(params)
            result["new_room_id"] = new_room_id
        await self.directory.set_room_public(room_id, False)
        await self._move_members(room_id, new_room_id, result, progress)
        aliases = await self.directory.get_aliases_for_room(room_id)
        result["local_aliases"] = aliases
        if new_room_id is not None:
            await self.directory.move_aliases(room_id, new_room_id)
        else:
            for alias in aliases:
                await self.directory.delete_alias(alias)
        if progress is not None:
            await progress.update()
        if params.purge:
            await self._purge(room_id, params.force_purge)

    async def _new_room(self, params: DeleteParams) -> str:
        """The room the members are moved to: public, members cannot speak
        (users_default -10), with the message from the admin."""
        user = UserID.parse(params.new_room_user_id or "").to_string()
        version = get_room_version(self.default_room_version)
        assert version is not None  # the config checked it
        power = default_power_levels(user, not version.additional_creators)
        power["users_default"] = -10
        state = [
            (EventTypes.JOIN_RULES, "", {"join_rule": JoinRules.PUBLIC}),
            (EventTypes.HISTORY_VISIBILITY, "", {"history_visibility": "shared"}),
            (EventTypes.NAME, "", {"name": params.room_name or DEFAULT_ROOM_NAME}),
        ]
        new_room_id = await self.rooms.create_room_with_state(
            user, version, {}, power, state
        )
        body = params.message or DEFAULT_MESSAGE
        await self.creator.send(
            new_room_id,
            user,
            EventTypes.MESSAGE,
            {"msgtype": "m.text", "body": body},
        )
        return new_room_id

    async def _move_members(
        self,
        room_id: str,
        new_room_id: str | None,
        result: dict[str, Any],
        progress: Progress | None,
    ) -> None:
        members = await self.room_state.get_members(room_id)
        for user_id, (membership, _) in sorted(members.items()):
            if UserID.parse(user_id).domain != self.server_name or membership not in (
                Membership.JOIN,
                Membership.INVITE,
                Membership.KNOCK,
            ):
                continue
            try:
                await self.membership.leave(
                    Requester(UserID.parse(user_id), "", ""), room_id, None
                )
                await self.room_state.forget_room(room_id, user_id)
                if new_room_id is not None and membership == Membership.JOIN:
                    await self.membership.send_membership(
                        new_room_id, user_id, user_id, Membership.JOIN, None, {}
                    )
                result["kicked_users"].append(user_id)
            except MatrixError as exc:
                logger.warning(
                    "room deletion could not remove a member",
                    extra={"room_id": room_id, "error": exc.msg},
                )
                result["failed_to_kick_users"].append(user_id)
            if progress is not None:
                await progress.update()

    async def _purge(self, room_id: str, force: bool) -> None:
        if not force:
            members = await self.room_state.get_members(room_id)
            joined = [
                u
                for u, (m, _) in members.items()
                if m == Membership.JOIN and UserID.parse(u).domain == self.server_name
            ]
            if joined:
                raise MatrixError(
                    400, "Users are still joined to this room", Codes.UNKNOWN
                )
        await self.purges.purge_room(room_id)

    async def status_by_room(self, room_id: str) -> JsonDict:
        """GET /_synapse/admin/v2/rooms/{roomId}/delete_status."""
        tasks = await self.tasks.get_for(DELETE_TASK, check_room_id(room_id))
        if not tasks:
            raise NotFound(f"No delete task for room_id '{room_id}' found")
        return {"results": [_status(t) for t in tasks]}

    async def status_by_id(self, delete_id: str) -> JsonDict:
        """GET /_synapse/admin/v2/rooms/delete_status/{delete_id}."""
        task = await self.tasks.get(DELETE_TASK, delete_id)
        if task is None:
            raise NotFound(f"delete id '{delete_id}' not found")
        return _status(task)


def _status(task: Any) -> JsonDict:
    body: JsonDict = {
        "delete_id": task.task_id,
        "room_id": task.target,
        "status": task.status,
        "shutdown_room": task.result,
    }
    if task.error is not None:
        body["error"] = task.error
    return body
