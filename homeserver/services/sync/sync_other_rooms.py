"""/sync's rooms outside ``join``: ``invite``, ``knock`` and ``leave``.

Spec: client-server API, "Syncing" (``rooms.invite``, ``rooms.knock``,
``rooms.leave``) and "Ignoring Users" (invites from ignored users are not
sent).
"""

from __future__ import annotations

from homeserver.events.model import Membership
from homeserver.services.sync.sync_rooms import RoomSyncBuilder, SyncRequestInfo
from homeserver.storage.stores.room_state import RoomStateStore
from homeserver.storage.stores.sync import MembershipChange
from homeserver.streams.tokens import StreamToken
from homeserver.types import JsonDict


class OtherRoomSections:
    """Invited, knocked and left rooms of one /sync answer.

    Args:
        room_state: current memberships.
        rooms: builds a left room's section and stripped state.
    """

    def __init__(self, room_state: RoomStateStore, rooms: RoomSyncBuilder) -> None:
        self.room_state = room_state
        self.rooms = rooms

    async def build(
        self,
        info: SyncRequestInfo,
        since: StreamToken | None,
        upto: StreamToken,
        changes: list[MembershipChange],
        joined: set[str],
        out: JsonDict,
    ) -> None:
        """Fill ``out``'s invite, knock and leave sections."""
        user_id = info.user_id
        if since is None:
            for membership, section in (
                (Membership.INVITE, "invite"),
                (Membership.KNOCK, "knock"),
            ):
                for room_id in await self.room_state.get_rooms_for_user(
                    user_id, membership
                ):
                    found = await self.room_state.get_membership(room_id, user_id)
                    if found is not None and not await self._ignored_invite(
                        info, section, found[1]
                    ):
                        out[section][room_id] = await self._stripped(
                            section, room_id, found[1]
                        )
            if info.filter.room.include_leave:
                for membership in (Membership.LEAVE, Membership.BAN):
                    for room_id in await self.room_state.get_rooms_for_user(
                        user_id, membership
                    ):
                        if not await self.room_state.is_forgotten(room_id, user_id):
                            out["leave"][room_id] = await self._left(
                                info, room_id, None, upto
                            )
            return
        latest: dict[str, MembershipChange] = {}
        for change in changes:
            latest[change.room_id] = change
        for room_id, change in latest.items():
            if room_id in joined:
                continue
            if change.membership in (Membership.INVITE, Membership.KNOCK):
                section = (
                    "invite" if change.membership == Membership.INVITE else "knock"
                )
                if await self._ignored_invite(info, section, change.event_id):
                    continue
                out[section][room_id] = await self._stripped(
                    section, room_id, change.event_id
                )
            elif change.membership in (Membership.LEAVE, Membership.BAN):
                out["leave"][room_id] = await self._left(
                    info, room_id, since.events, change.stream_ordering
                )

    async def _ignored_invite(
        self, info: SyncRequestInfo, section: str, event_id: str
    ) -> bool:
        """Whether this is an invite from a user the syncing user ignores
        (never sent to the client: spec, "Ignoring Users")."""
        if section != "invite" or info.personal is None or not info.personal.ignored:
            return False
        event = await self.rooms.events.get_event(event_id)
        return event is not None and info.personal.ignores(event.sender)

    async def _stripped(self, section: str, room_id: str, event_id: str) -> JsonDict:
        key = "invite_state" if section == "invite" else "knock_state"
        return {key: {"events": await self.rooms.stripped_state(room_id, event_id)}}

    async def _left(
        self,
        info: SyncRequestInfo,
        room_id: str,
        since: int | None,
        upto: StreamToken | int,
    ) -> JsonDict:
        position = upto if isinstance(upto, int) else upto.events
        history = await self.room_state.get_membership_history(room_id, info.user_id)
        left_at = max(
            (s for _, s, m in history if m in ("leave", "ban")), default=position
        )
        end = min(position, left_at)
        sections = await self.rooms.sections(info, {room_id: since}, end)
        body = await self.rooms.body(info, sections[room_id])
        body["account_data"] = {"events": []}
        return body
