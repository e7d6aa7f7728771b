"""The user's rooms for sliding-sync lists: which, in what order, filtered.

Each piece is cached in memory and refreshed only for what the sync change
caches (``services/sync/changes.py``) say moved, so a quiet incremental
request reads nothing from the database here.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import attrs

from homeserver.events.model import Membership
from homeserver.services.sliding_sync.request import RoomFilters
from homeserver.services.sync.changes import SyncChanges
from homeserver.services.sync_data.account_data import AccountDataService
from homeserver.signals import RoomForgotten
from homeserver.storage.stores.sliding_sync import SlidingSyncStore, UserRoom

_CACHE_CAP = 100_000
Facts = tuple[str | None, bool]


@attrs.frozen
class _Order:
    """A user's last room order: from which rooms, at which position."""

    rooms: Mapping[str, UserRoom]
    keys: frozenset[str]
    upto: int
    ordered: list[str]


class RoomList:
    """Rooms by membership, recency order and the list filters."""

    def __init__(
        self,
        store: SlidingSyncStore,
        changes: SyncChanges,
        account_data: AccountDataService,
    ) -> None:
        self.store = store
        self.changes = changes
        self.account_data = account_data
        self._rooms: dict[str, tuple[int, dict[str, UserRoom]]] = {}
        self._bumps: dict[str, tuple[int, int | None]] = {}
        self._facts: dict[str, tuple[int, Facts]] = {}
        self._orders: dict[str, _Order] = {}

    def on_room_forgotten(self, forgotten: RoomForgotten) -> None:
        """``room_forgotten`` receiver: the user's rooms are read again (a
        forgotten room is not listed; no membership moved to say so)."""
        self._rooms.pop(forgotten.user_id, None)
        self._orders.pop(forgotten.user_id, None)

    def forget_all(self) -> None:
        """Read every user's rooms again (replication lost what may have
        been forgotten meanwhile)."""
        self._rooms.clear()
        self._orders.clear()

    async def user_rooms(self, user_id: str, upto: int) -> dict[str, UserRoom]:
        """Every room the user has a membership in, by room ID."""
        cached = self._rooms.get(user_id)
        if cached is not None and not self.changes.memberships.has_entity_changed(
            user_id, cached[0]
        ):
            return cached[1]
        rooms = {r.room_id: r for r in await self.store.get_user_rooms(user_id)}
        if len(self._rooms) > _CACHE_CAP:
            self._rooms.clear()
        self._rooms[user_id] = (upto, rooms)
        return rooms

    async def _fresh_bumps(self, room_ids: Collection[str], upto: int) -> None:
        stale = [
            r
            for r in room_ids
            if (c := self._bumps.get(r)) is None
            or self.changes.rooms.has_entity_changed(r, c[0])
        ]
        if not stale:
            return
        found = await self.store.get_bump_stamps(stale)
        if len(self._bumps) > _CACHE_CAP:
            self._bumps.clear()
            self._orders.clear()  # a kept order relies on its rooms' stamps
        for room_id in stale:
            self._bumps[room_id] = (upto, found.get(room_id))

    async def order(
        self,
        user_id: str,
        listed: Mapping[str, UserRoom],
        source: Mapping[str, UserRoom],
        upto: int,
    ) -> list[str]:
        """Most recent activity first (Synapse's order): a joined room's last
        event of a bump type; for other memberships, the membership event.

        ``listed`` are rooms of ``source`` (what :meth:`user_rooms` gave).
        The last order of each user is kept and reused while the same rooms
        are listed, no membership moved and none of them has a new event (a
        quiet request then does no more than /sync's check of the rooms)."""
        last = self._orders.get(user_id)
        if (
            last is not None
            and last.rooms is source
            and last.keys == listed.keys()
            and self.changes.rooms.changed_entities(last.keys, last.upto) == set()
        ):
            return last.ordered
        await self._fresh_bumps(list(listed), upto)
        ordered = [
            r.room_id
            for r in sorted(
                listed.values(), key=lambda r: (-self.bump_stamp(r), r.room_id)
            )
        ]
        if len(self._orders) > _CACHE_CAP:
            self._orders.clear()
        self._orders[user_id] = _Order(source, frozenset(listed), upto, ordered)
        return ordered

    def bump_stamp(self, room: UserRoom) -> int:
        """The room's last activity as :meth:`order` found it: a joined
        room's last bump event, else the user's membership event (MSC4186:
        'when the relevant membership happened'; nothing after a leave)."""
        bump = self._bumps.get(room.room_id, (0, None))[1]
        if room.membership != Membership.JOIN or bump is None:
            return room.stream_ordering
        return int(bump)

    async def facts(self, room_ids: Collection[str], upto: int) -> dict[str, Facts]:
        """Each room's (type, encrypted); the type never changes, encryption
        is never turned off."""
        stale = [
            r
            for r in room_ids
            if (c := self._facts.get(r)) is None
            or (not c[1][1] and self.changes.rooms.has_entity_changed(r, c[0]))
        ]
        if stale:
            found = await self.store.get_room_facts(stale)
            if len(self._facts) > _CACHE_CAP:
                self._facts.clear()
            for room_id in stale:
                self._facts[room_id] = (upto, found.get(room_id, (None, False)))
        return {r: self._facts[r][1] for r in room_ids}

    async def dm_rooms(self, user_id: str) -> set[str]:
        """The rooms of the user's ``m.direct`` account data."""
        content = await self.account_data.get_global_data(user_id, "m.direct") or {}
        return {
            room_id
            for rooms in content.values()
            if isinstance(rooms, list)
            for room_id in rooms
            if isinstance(room_id, str)
        }

    async def apply(
        self,
        user_id: str,
        filters: RoomFilters,
        ordered: list[str],
        rooms: dict[str, UserRoom],
        upto: tuple[int, int],
    ) -> list[str]:
        """The rooms of ``ordered`` the filters let through, in order."""
        events_pos, account_data_pos = upto
        out = ordered
        if filters.is_invite is not None:
            out = [
                r
                for r in out
                if (rooms[r].membership == Membership.INVITE) == filters.is_invite
            ]
        if filters.is_dm is not None:
            dms = await self.dm_rooms(user_id)
            out = [r for r in out if (r in dms) == filters.is_dm]
        if (
            filters.is_encrypted is not None
            or filters.room_types is not None
            or filters.not_room_types
        ):
            facts = await self.facts(out, events_pos)
            out = [r for r in out if _facts_pass(filters, facts[r])]
        if filters.spaces is not None:
            spaces = [
                s
                for s in filters.spaces
                if s in rooms and rooms[s].membership == Membership.JOIN
            ]
            children = await self.store.get_space_children(spaces) if spaces else set()
            out = [r for r in out if r in children]
        if filters.tags is not None or filters.not_tags:
            tags = await self._tags(user_id, out, account_data_pos)
            out = [r for r in out if _tags_pass(filters, tags.get(r, set()))]
        return out

    async def _tags(
        self, user_id: str, room_ids: list[str], upto: int
    ) -> dict[str, set[str]]:
        data = await self.account_data.get_room_account_data(
            user_id, room_ids, None, upto
        )
        out: dict[str, set[str]] = {}
        for room_id, events in data.items():
            for event in events:
                tags = event["content"].get("tags")
                if event["type"] == "m.tag" and isinstance(tags, dict):
                    out[room_id] = set(tags)
        return out


def _facts_pass(filters: RoomFilters, facts: Facts) -> bool:
    room_type, encrypted = facts
    if filters.is_encrypted is not None and encrypted != filters.is_encrypted:
        return False
    if filters.room_types is not None and room_type not in filters.room_types:
        return False
    return room_type not in filters.not_room_types


def _tags_pass(filters: RoomFilters, tags: set[str]) -> bool:
    if tags & filters.not_tags:
        return False
    return filters.tags is None or bool(tags & filters.tags)
