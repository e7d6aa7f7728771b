"""Room upgrades: ``POST /rooms/{roomId}/upgrade``.

Spec: client-server API, "Room Upgrades" > "Server behaviour". The steps, in
Synapse's order (``RoomCreationHandler.upgrade_room``):

1. check the user may send ``m.room.tombstone`` in the old room;
2. create the new room (``predecessor`` in its create event) with the old
   room's transferable state, its power levels and its bans;
3. send the tombstone in the old room;
4. move the local aliases and split the canonical alias between the rooms;
5. move the directory listing (published old room -> published new room);
6. restrict the old room's power levels, and give the new room its final ones.

Members are not moved or invited (Synapse does that only for its admin API's
``auto_member``); clients follow the tombstone.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from homeserver.errors import Codes, Forbidden, MatrixError
from homeserver.events.auth_rules import room_creators
from homeserver.events.model import Event, EventTypes, Membership, StateKey
from homeserver.events.room_versions import RoomVersion, get_room_version
from homeserver.services.accounts.auth import Requester
from homeserver.services.rooms.directory import DirectoryService
from homeserver.services.rooms.event_creation import EventCreationService
from homeserver.services.rooms.membership import MembershipService
from homeserver.services.rooms.room_creation import (
    RoomCreationService,
    default_power_levels,
)
from homeserver.services.rooms.room_permissions import RoomPermissions
from homeserver.services.rooms.room_upgrade_state import (
    SPACE_CHILD,
    copied_state,
    fixup_power_levels,
    new_room_power_levels,
    restricted_old_levels,
    split_canonical_alias,
    upgraded_creation_content,
    with_upgrader_power,
)
from homeserver.storage.stores.events import EventStore
from homeserver.storage.stores.room_state import RoomStateStore
from homeserver.types import JsonDict, UserID

logger = logging.getLogger(__name__)

TOMBSTONE_BODY = "This room has been replaced"
CREATE_KEY: StateKey = (EventTypes.CREATE, "")
POWER_LEVELS_KEY: StateKey = (EventTypes.POWER_LEVELS, "")
CANONICAL_ALIAS_KEY: StateKey = (EventTypes.CANONICAL_ALIAS, "")


def upgrade_target(
    version_id: str, additional_creators: Sequence[str], upgrader: str
) -> tuple[RoomVersion, list[str]]:
    """The target version and the extra creators (v12+ only) of an upgrade.

    Raises:
        MatrixError: 400 M_UNSUPPORTED_ROOM_VERSION for an unknown version,
            M_INVALID_PARAM for an extra creator that is no user ID.
    """
    version = get_room_version(version_id)
    if version is None:
        raise MatrixError(
            400,
            f"Unsupported room version {version_id!r}",
            Codes.UNSUPPORTED_ROOM_VERSION,
        )
    if not version.additional_creators:
        return version, []  # spec: ignored for versions without additional creators
    creators: list[str] = []
    for user_id in additional_creators:
        user_id = UserID.parse(user_id).to_string()
        if user_id != upgrader and user_id not in creators:
            creators.append(user_id)
    return version, creators


class RoomUpgradeService:
    """Replaces a room with a new one of another room version."""

    def __init__(
        self,
        *,
        server_name: str,
        creator: EventCreationService,
        rooms: RoomCreationService,
        membership: MembershipService,
        directory: DirectoryService,
        permissions: RoomPermissions,
        room_state: RoomStateStore,
        events: EventStore,
    ) -> None:
        self.server_name = server_name
        self.creator = creator
        self.rooms = rooms
        self.membership = membership
        self.directory = directory
        self.permissions = permissions
        self.room_state = room_state
        self.events = events
        self._in_progress: set[str] = set()

    async def upgrade_room(
        self,
        requester: Requester,
        room_id: str,
        new_version: str,
        additional_creators: Sequence[str] = (),
    ) -> JsonDict:
        """Upgrade ``room_id``; returns ``{"replacement_room": ...}``.

        Args:
            requester: who upgrades.
            room_id: the old room.
            new_version: the new room's version.
            additional_creators: more creators of the new room (room versions
                with additional creators only; ignored otherwise).

        Raises:
            MatrixError: 400 for an unknown version or an extra creator that is
                no user ID, or while another upgrade of the room runs; 404 for
                an unknown room; 403 if the user may not send
                ``m.room.tombstone`` there.
        """
        version, additional = upgrade_target(
            new_version, additional_creators, requester.user_id
        )
        await self.creator.room_version(room_id)  # 404 for an unknown room
        if room_id in self._in_progress:
            raise MatrixError(400, "An upgrade for this room is currently in progress")
        self._in_progress.add(room_id)
        try:
            new_room_id = await self._upgrade(
                requester.user_id, room_id, version, additional
            )
        finally:
            self._in_progress.discard(room_id)
        logger.info(
            "room upgraded",
            extra={
                "room_id": room_id,
                "new_room_id": new_room_id,
                "version": version.identifier,
            },
        )
        return {"replacement_room": new_room_id}

    async def _upgrade(
        self,
        user_id: str,
        old_room_id: str,
        version: RoomVersion,
        additional: list[str],
    ) -> str:
        if not await self.permissions.may_send_state(
            old_room_id, user_id, EventTypes.TOMBSTONE
        ):
            raise Forbidden("You cannot upgrade this room")
        old_state, bans = await self._old_state(old_room_id)
        create = old_state[CREATE_KEY]
        old_levels = self._old_levels(old_state, user_id, version)
        was_infinite = (
            create.room_version.additional_creators and user_id in room_creators(create)
        )
        final_levels = new_room_power_levels(
            old_levels, user_id, version, [user_id, *additional], was_infinite
        )
        initial_levels = with_upgrader_power(final_levels, user_id, version)
        room_type = create.content.get("type")
        # As Synapse: the new room's ID is chosen first, so the tombstone can
        # be built (not yet sent) and ``predecessor.event_id`` name it. A
        # room ID that is its create event's hash (v12) cannot be known
        # before, so there it names the old room's last event instead.
        chosen_id = self.rooms.new_room_id(version)
        tombstone = None
        predecessor: str | None
        if chosen_id is not None:
            tombstone = await self.creator.prepare(
                old_room_id,
                user_id,
                EventTypes.TOMBSTONE,
                _tombstone_content(chosen_id),
                "",
            )
            predecessor = tombstone.event.event_id
        else:
            predecessor = await self._last_event_id(old_room_id)
        new_room_id = await self.rooms.create_room_with_state(
            user_id,
            version,
            upgraded_creation_content(
                create, old_room_id, predecessor, version, additional
            ),
            initial_levels,
            copied_state(old_state, room_type if isinstance(room_type, str) else None),
            room_id=chosen_id,
        )
        await self._copy_bans(user_id, new_room_id, bans)
        if tombstone is not None:
            await self.creator.send_prepared(tombstone)
        else:
            await self.creator.send(
                old_room_id,
                user_id,
                EventTypes.TOMBSTONE,
                _tombstone_content(new_room_id),
                "",
            )
        await self._move_aliases(user_id, old_room_id, new_room_id, old_state)
        if await self.directory.is_public(old_room_id):
            await self.directory.set_visibility_unchecked(new_room_id, True)
            await self.directory.set_visibility_unchecked(old_room_id, False)
        restricted = restricted_old_levels(old_levels)
        if restricted is not None:
            await self._send_quietly(
                old_room_id, user_id, EventTypes.POWER_LEVELS, restricted
            )
        if final_levels != initial_levels:
            await self.creator.send(
                new_room_id, user_id, EventTypes.POWER_LEVELS, final_levels, ""
            )
        return new_room_id

    async def _old_state(
        self, room_id: str
    ) -> tuple[dict[StateKey, Event], list[Event]]:
        """The old room's state that matters here, and its ban events."""
        state_ids = await self.room_state.get_current_state_ids(room_id)
        wanted = {
            key: event_id
            for key, event_id in state_ids.items()
            if key[0] != EventTypes.MEMBER and (key[1] == "" or key[0] == SPACE_CHILD)
        }
        members = await self.room_state.get_members(room_id)
        ban_ids = [
            eid
            for (membership, eid) in members.values()
            if membership == Membership.BAN
        ]
        found = await self.events.get_events([*wanted.values(), *ban_ids])
        state = {key: found[eid] for key, eid in wanted.items() if eid in found}
        return state, [found[eid] for eid in ban_ids if eid in found]

    def _old_levels(
        self, state: Mapping[StateKey, Event], user_id: str, version: RoomVersion
    ) -> JsonDict:
        event = state.get(POWER_LEVELS_KEY)
        if event is None:  # not expected: every room we create has power levels
            return default_power_levels(user_id, not version.additional_creators)
        return fixup_power_levels(event.content, event.room_version)

    async def _last_event_id(self, room_id: str) -> str | None:
        """The newest event of the room (for ``predecessor.event_id``)."""
        tips = await self.events.get_events(
            await self.events.get_forward_extremities(room_id)
        )
        newest = max(
            tips.values(), key=lambda e: (e.depth, e.stream_ordering or 0), default=None
        )
        return newest.event_id if newest is not None else None

    async def _copy_bans(self, user_id: str, room_id: str, bans: list[Event]) -> None:
        """Ban in the new room everyone banned in the old one (as Synapse)."""
        for ban in bans:
            reason = ban.content.get("reason")
            try:
                await self.membership.send_membership(
                    room_id,
                    user_id,
                    ban.state_key or "",
                    Membership.BAN,
                    reason if isinstance(reason, str) else None,
                    {},
                )
            except MatrixError as exc:
                logger.warning("could not copy a ban to the new room: %s", exc.msg)

    async def _move_aliases(
        self,
        user_id: str,
        old_room_id: str,
        new_room_id: str,
        old_state: Mapping[StateKey, Event],
    ) -> None:
        await self.directory.move_aliases(old_room_id, new_room_id)
        event = old_state.get(CANONICAL_ALIAS_KEY)
        if event is None:
            return
        old_content, new_content = split_canonical_alias(
            event.content, self.server_name
        )
        if new_content:
            await self._send_quietly(
                new_room_id, user_id, EventTypes.CANONICAL_ALIAS, new_content
            )
        if old_content != event.content:
            await self._send_quietly(
                old_room_id, user_id, EventTypes.CANONICAL_ALIAS, old_content
            )

    async def _send_quietly(
        self, room_id: str, user_id: str, event_type: str, content: JsonDict
    ) -> None:
        """Send a state event that should not fail the upgrade if refused.

        The new room exists and the tombstone is sent by now, so, as Synapse
        does, a refusal is logged and the upgrade still succeeds.
        """
        try:
            await self.creator.send(room_id, user_id, event_type, content, "")
        except MatrixError as exc:
            logger.warning(
                "upgrade: could not send %s in %s: %s", event_type, room_id, exc.msg
            )


def _tombstone_content(new_room_id: str) -> JsonDict:
    return {"body": TOMBSTONE_BODY, "replacement_room": new_room_id}
