"""Reading what a digest shows: the missed events, their senders' names and
the rooms' titles (current state)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from homeserver.events.model import EventTypes, Membership
from homeserver.services.push.email.digest import (
    RoomDigest,
    message_line,
    room_link,
    room_title,
)
from homeserver.storage.stores.events import EventStore
from homeserver.storage.stores.profiles import ProfileStore
from homeserver.storage.stores.room_state import RoomStateStore


class DigestContent:
    """Builds the rooms of a digest from push actions' events."""

    def __init__(
        self,
        *,
        events: EventStore,
        room_state: RoomStateStore,
        profiles: ProfileStore,
        client_base_url: str | None,
    ) -> None:
        self._events = events
        self._room_state = room_state
        self._profiles = profiles
        self._client_base_url = client_base_url

    async def display_name(self, user_id: str) -> str:
        """The user's profile display name, else their user ID."""
        profile = await self._profiles.get_profile(user_id) or {}
        name = profile.get("displayname")
        return name if isinstance(name, str) and name else user_id

    async def rooms(
        self, user_id: str, event_ids_by_room: dict[str, Sequence[str]]
    ) -> list[RoomDigest]:
        """One RoomDigest a room (in the given order); events we cannot read
        (purged, redacted to nothing) are left out, and so is a room left
        with none."""
        all_ids = [e for ids in event_ids_by_room.values() for e in ids]
        events = await self._events.get_events(all_ids)
        rooms = []
        for room_id, ids in event_ids_by_room.items():
            names = await self._member_names(room_id)
            membership = await self._room_state.get_membership(room_id, user_id)
            invited = membership is not None and membership[0] == Membership.INVITE
            lines = []
            for event_id in ids:
                event = events.get(event_id)
                if event is None:
                    continue
                if event.type == EventTypes.MEMBER and not invited:
                    # An invite the user has since answered: nothing missed.
                    continue
                sender = str(event.pdu.get("sender", ""))
                lines.append(
                    message_line(
                        event_type=event.type,
                        content=event.pdu.get("content"),
                        sender_id=sender,
                        sender_name=names.get(sender, sender),
                        ts=int(event.pdu.get("origin_server_ts", 0)),
                    )
                )
            if lines:
                title = await self._title(room_id, user_id, names)
                link = room_link(self._client_base_url, room_id)
                rooms.append(
                    RoomDigest(
                        room_id=room_id, title=title, link=link, messages=tuple(lines)
                    )
                )
        return rooms

    async def _member_names(self, room_id: str) -> dict[str, str]:
        """Display names of the room's joined and invited members."""
        members = await self._room_state.get_members(room_id)
        wanted = {
            user: event_id
            for user, (membership, event_id) in members.items()
            if membership in (Membership.JOIN, Membership.INVITE)
        }
        events = await self._events.get_events(list(wanted.values()))
        names = {}
        for user, event_id in wanted.items():
            event = events.get(event_id)
            content: Any = event.pdu.get("content") if event else None
            name = content.get("displayname") if isinstance(content, dict) else None
            names[user] = name if isinstance(name, str) and name else user
        return names

    async def _title(self, room_id: str, user_id: str, names: dict[str, str]) -> str:
        name = await self._state_content(room_id, EventTypes.NAME, "name")
        alias = await self._state_content(room_id, EventTypes.CANONICAL_ALIAS, "alias")
        others = sorted(n for u, n in names.items() if u != user_id)
        return room_title(name=name, alias=alias, others=others, room_id=room_id)

    async def _state_content(
        self, room_id: str, event_type: str, key: str
    ) -> str | None:
        event_id = await self._room_state.get_current_state_event_id(
            room_id, event_type, ""
        )
        event = await self._events.get_event(event_id) if event_id else None
        content: Any = event.pdu.get("content") if event else None
        value = content.get(key) if isinstance(content, dict) else None
        return value if isinstance(value, str) and value else None
