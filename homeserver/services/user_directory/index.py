"""Keeping the user directory's tables current.

Local users need nothing here: their accounts and profiles are searched
directly. Other servers' users are learned from member events, local or
from federation (``membership_changed``): a remote join records the user's
display name and avatar; and when a local user joins a room (for a room on
another server, after the join handshake, whose state arrives in bulk) every
remote member of the room is recorded. Which rooms are public follows their
join rules and history visibility (``new_event``).
"""

from __future__ import annotations

import logging

from homeserver.events.ids import try_domain_of
from homeserver.events.model import Event, EventTypes, Membership
from homeserver.signals import MembershipChanged, NewEvent
from homeserver.storage.stores.events import EventStore
from homeserver.storage.stores.room_state import RoomStateStore
from homeserver.storage.stores.user_directory import UserDirectoryStore

logger = logging.getLogger(__name__)

_PUBLIC_STATE = (
    (EventTypes.JOIN_RULES, "join_rule", "public"),
    (EventTypes.HISTORY_VISIBILITY, "history_visibility", "world_readable"),
)


def _profile_of(event: Event) -> tuple[str, str | None, str | None]:
    """(user ID, display name, avatar URL) from a member event."""
    name = event.content.get("displayname")
    avatar = event.content.get("avatar_url")
    return (
        event.state_key or "",
        name if isinstance(name, str) else None,
        avatar if isinstance(avatar, str) else None,
    )


class UserDirectoryIndex:
    """Signal receivers that keep the directory's tables current.

    Args:
        server_name: this server (its users are not recorded here).
        store: the directory's tables.
        room_state: rooms' current state and members.
        events: reads state events.
    """

    def __init__(
        self,
        server_name: str,
        store: UserDirectoryStore,
        room_state: RoomStateStore,
        events: EventStore,
    ) -> None:
        self.server_name = server_name
        self.store = store
        self.room_state = room_state
        self.events = events

    def _is_remote(self, user_id: str) -> bool:
        domain = try_domain_of(user_id)
        return domain is not None and domain != self.server_name

    async def on_membership_changed(self, change: MembershipChanged) -> None:
        """A member event: record a remote joiner; a local user's (new) join
        records the room's remote members and whether it is public."""
        if change.membership != Membership.JOIN:
            return
        if self._is_remote(change.user_id):
            await self.store.upsert_remote_users([_profile_of(change.event)])
        elif not await self._was_joined(change.event):
            await self.refresh_room(change.room_id, joiner=change.user_id)

    async def _was_joined(self, event: Event) -> bool:
        """Whether the member event replaced a join (a profile update)."""
        if not event.replaces_state:
            return False
        before = await self.events.get_event(event.replaces_state)
        return before is not None and before.membership == Membership.JOIN

    async def on_new_event(self, new: NewEvent) -> None:
        """A join rules or history visibility change may make a room public
        or private."""
        event = new.event
        if event.state_key == "" and event.type in (
            EventTypes.JOIN_RULES,
            EventTypes.HISTORY_VISIBILITY,
        ):
            await self._refresh_public(event.room_id)

    async def refresh_room(self, room_id: str, joiner: str | None = None) -> None:
        """Record the room's joined remote members and whether it is public.

        Args:
            room_id: the room.
            joiner: the local user whose join prompted this; when another
                local user was already joined, the room's members and state
                were followed already, and nothing is done.
        """
        if joiner is not None:
            ours = await self.room_state.get_joined_users_of(
                room_id, self.server_name, ours=True, limit=2
            )
            if ours - {joiner}:
                return
        members = await self.room_state.get_members(room_id)
        joined = [
            event_id
            for user_id, (membership, event_id) in members.items()
            if membership == Membership.JOIN and self._is_remote(user_id)
        ]
        found = await self.events.get_events(joined)
        await self.store.upsert_remote_users(_profile_of(e) for e in found.values())
        await self._refresh_public(room_id)

    async def _refresh_public(self, room_id: str) -> None:
        state = await self.room_state.get_current_state_ids(room_id)
        ids = [state[(t, "")] for t, _, _ in _PUBLIC_STATE if (t, "") in state]
        found = await self.events.get_events(ids)
        public = any(
            event.content.get(key) == value
            for event in found.values()
            for event_type, key, value in _PUBLIC_STATE
            if event.type == event_type
        )
        await self.store.set_room_public(room_id, public)
