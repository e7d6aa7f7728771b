"""GET /sync: initial and incremental, long-polling on the notifier.

Spec: client-server API, "Syncing". An incremental sync looks only at rooms
whose stream changed since the client's token (StreamChangeCache), never
rescanning every room; a sync with nothing new waits on the notifier until
something the user can see happens or the timeout passes.
"""

from __future__ import annotations

import attrs

from homeserver.events.model import Membership
from homeserver.services.accounts.auth import Requester
from homeserver.services.reading.filters import EventFilter
from homeserver.services.reading.personal import PersonalFilter, PersonalView
from homeserver.services.sync.changes import SyncChanges
from homeserver.services.sync.filter_service import FilterService
from homeserver.services.sync.sources import SyncSources
from homeserver.services.sync.sync_global import (
    GlobalSections,
    has_global_data,
    moved,
)
from homeserver.services.sync.sync_other_rooms import OtherRoomSections
from homeserver.services.sync.sync_rooms import RoomSyncBuilder, SyncRequestInfo
from homeserver.services.sync.unread import UnreadCounter
from homeserver.storage.stores.room_state import RoomStateStore
from homeserver.storage.stores.sync import MembershipChange, SyncStore
from homeserver.streams.notifier import Notifier
from homeserver.streams.registry import (
    ACCOUNT_DATA,
    RECEIPTS,
    TYPING,
)
from homeserver.streams.tokens import StreamToken
from homeserver.types import JsonDict
from homeserver.util.clock import Clock

MAX_TIMEOUT_MS = 5 * 60 * 1000
_NO_UNREAD = {"notification_count": 0, "highlight_count": 0}


@attrs.frozen
class SyncParams:
    """A parsed /sync request."""

    since: StreamToken | None
    timeout_ms: int
    full_state: bool
    filter_param: str | None
    set_presence: str | None


class SyncService:
    """Computes sync responses and waits for news.

    Args:
        store: membership changes and rooms with new events (when the change
            caches cannot answer).
        room_state: current memberships.
        rooms: builds each room's section.
        filters: the user's sync filters.
        notifier: stream positions, and waiting for news.
        changes: rooms and memberships changed since a position, in memory.
        sources: the other streams.
        personal: what each user chose not to see (ignored users: their
            events, invites and to-device messages; hidden events).
        clock: for the long-poll deadline.
    """

    def __init__(
        self,
        *,
        store: SyncStore,
        room_state: RoomStateStore,
        rooms: RoomSyncBuilder,
        filters: FilterService,
        notifier: Notifier,
        changes: SyncChanges,
        sources: SyncSources,
        personal: PersonalFilter,
        clock: Clock,
        unread: UnreadCounter,
    ) -> None:
        self.store = store
        self.batch = rooms.store
        self.room_state = room_state
        self.rooms = rooms
        self.filters = filters
        self.notifier = notifier
        self.room_changes = changes.rooms
        self.membership_changes = changes.memberships
        self.member_rooms = changes.member_rooms
        self.sources = sources
        self.personal = personal
        self.clock = clock
        self.unread = unread
        self._joined_cache: dict[str, tuple[int, frozenset[str]]] = {}
        # (user, device) -> the to-device position already deleted up to.
        self.global_sections = GlobalSections(sources, clock)
        self.other_rooms = OtherRoomSections(room_state, rooms)

    async def sync(self, requester: Requester, params: SyncParams) -> JsonDict:
        """One /sync request."""
        info = SyncRequestInfo(
            requester,
            await self.filters.resolve(requester.user_id, params.filter_param),
            params.full_state,
        )
        presence = self.sources.presence
        await presence.user_syncing(requester.user_id, params.set_presence)
        try:
            return await self._sync_loop(info, params)
        finally:
            presence.user_stopped_syncing(requester.user_id, params.set_presence)

    async def _sync_loop(self, info: SyncRequestInfo, params: SyncParams) -> JsonDict:
        requester = info.requester
        since = params.since
        timeout = max(0, min(params.timeout_ms, MAX_TIMEOUT_MS))
        deadline = self.clock.time_msec() + timeout
        while True:
            upto = self.notifier.current_token()
            if since is not None:
                # A token from the future (typing after a restart) reads as now.
                since = since.clamped_to(upto)
                if not info.full_state and not upto.is_after(since):
                    # No stream moved since the token: a pass now would find
                    # nothing, so wait first (a long-poll's usual start).
                    if await self._wait(requester.user_id, upto, deadline):
                        continue
            # A change of the ignore list or the hidden events applies at
            # once (spec: "Ignoring Users", server behaviour).
            info = attrs.evolve(
                info, personal=await self.personal.view(requester.user_id)
            )
            body, rooms, empty = await self._compute(info, since, upto)
            if since is None or info.full_state or not empty:
                return await self.global_sections.add_key_counts(info, body)
            if not await self._wait(requester.user_id, upto, deadline, rooms):
                return await self.global_sections.add_key_counts(info, body)

    async def _wait(
        self,
        user_id: str,
        upto: StreamToken,
        deadline: int,
        rooms: set[str] | None = None,
    ) -> bool:
        """Wait for news after ``upto`` in the user's rooms (``rooms``, else
        their joined rooms) until ``deadline``; False if it had passed."""
        if rooms is None:
            rooms = await self._joined_rooms_of(user_id, upto.events)
        remaining = deadline - self.clock.time_msec()
        if remaining <= 0:
            return False
        # Something may have moved while the rooms were read: look again.
        if not self.notifier.current_token().is_after(upto):
            await self.notifier.wait(user_id, rooms, remaining)
        return True

    async def _compute(
        self, info: SyncRequestInfo, since: StreamToken | None, upto: StreamToken
    ) -> tuple[JsonDict, set[str], bool]:
        user_id = info.user_id
        joined = await self._joined_rooms_of(user_id, upto.events)
        changes = []
        if since is not None and self.membership_changes.has_entity_changed(
            user_id, since.events
        ):
            changes = await self.store.get_membership_changes(
                user_id, since.events, upto.events
            )
        rooms_out: JsonDict = {"join": {}, "invite": {}, "leave": {}, "knock": {}}
        room_filter = info.filter.room
        await self._joined_rooms(info, joined, since, upto, changes, rooms_out)
        await self.other_rooms.build(info, since, upto, changes, joined, rooms_out)
        for section in rooms_out.values():
            for room_id in [r for r in section if not room_filter.includes_room(r)]:
                del section[room_id]
        body: JsonDict = {"next_batch": upto.to_string(), "rooms": rooms_out}
        members_moved = bool(changes) or self._members_moved(joined, since)
        await self.global_sections.build(info, since, upto, body, members_moved)
        empty = not any(rooms_out.values()) and not has_global_data(body)
        return body, joined, empty

    def _members_moved(self, joined: set[str], since: StreamToken | None) -> bool:
        """Whether someone's membership may have changed in one of ``joined``
        since ``since`` (True when the cache cannot tell)."""
        if since is None:
            return False
        moved = self.member_rooms.changed_entities(joined, since.events)
        return moved is None or bool(moved)

    async def _joined_rooms_of(self, user_id: str, position: int) -> set[str]:
        """The user's joined rooms, cached until their membership changes."""
        cached = self._joined_cache.get(user_id)
        if cached is not None and not self.membership_changes.has_entity_changed(
            user_id, cached[0]
        ):
            return set(cached[1])
        rooms = frozenset(
            await self.room_state.get_rooms_for_user(user_id, Membership.JOIN)
        )
        if len(self._joined_cache) > 100_000:
            self._joined_cache.clear()
        self._joined_cache[user_id] = (position, rooms)
        return set(rooms)

    async def _joined_rooms(
        self,
        info: SyncRequestInfo,
        joined: set[str],
        since: StreamToken | None,
        upto: StreamToken,
        changes: list[MembershipChange],
        out: JsonDict,
    ) -> None:
        changed = joined
        if since is not None and not info.full_state:
            cached = self.room_changes.changed_entities(joined, since.events)
            if cached is None:
                cached = await self.store.get_rooms_with_events(
                    joined, since.events, upto.events
                )
            changed = cached | (joined & {c.room_id for c in changes})
        ephemeral = await self._ephemeral(info, joined, since, upto)
        account_data = await self._room_account_data(info, joined, since, upto)
        # A room's first sync (initial, or newly joined) starts from nothing.
        fresh = await self._newly_joined(info.user_id, joined, since, changes)
        if since is not None and (fresh or info.full_state):
            # Its account data too: tags set before the join (a server
            # notices room's m.server_notice) come down with it, as Synapse.
            first = joined if info.full_state else fresh
            account_data.update(await self._room_account_data(info, first, None, upto))
        starts = {
            room_id: None if since is None or room_id in fresh else since.events
            for room_id in joined
            if room_id in changed or info.full_state
        }
        sections = await self.rooms.sections(info, starts, upto.events)
        if since is not None and not info.full_state:
            # A room whose new events were all left out (sent by users the
            # user ignores, hidden, or dropped by the filter) has nothing to
            # tell: it is not listed, so a long-poll keeps waiting (Synapse
            # leaves such rooms out too).
            sections = {
                r: s
                for r, s in sections.items()
                if starts[r] is None or s.timeline.events or s.state
            }
        summaries = await self.rooms.summaries(
            sorted(
                r
                for r, s in sections.items()
                if starts[r] is None or s.membership_changed()
            ),
            info.user_id,
        )
        listed = sorted(set(sections) | set(ephemeral) | set(account_data))
        unread = await self._unread(info, listed, upto)
        for room_id in listed:
            body: JsonDict = {
                "timeline": {"events": [], "limited": False},
                "state": {"events": []},
            }
            if room_id in sections:
                body = await self.rooms.body(info, sections[room_id])
            if room_id in summaries:
                body["summary"] = summaries[room_id]
            body["ephemeral"] = {"events": ephemeral.get(room_id, [])}
            body["account_data"] = {"events": account_data.get(room_id, [])}
            body["unread_notifications"] = _NO_UNREAD
            body.update(unread.get(room_id, {}))
            out["join"][room_id] = body

    async def _newly_joined(
        self,
        user_id: str,
        joined: set[str],
        since: StreamToken | None,
        changes: list[MembershipChange],
    ) -> set[str]:
        """Joined rooms the user was not joined to at ``since``, or left and
        rejoined since. A join -> join (a display name or avatar change) is
        no new join: the room carries on from the token instead of being sent
        whole again."""
        changed = joined & {c.room_id for c in changes}
        if since is None or not changed:
            return changed
        left = {c.room_id for c in changes if c.membership != Membership.JOIN}
        before = await self.store.get_memberships_at(user_id, changed, since.events)
        return {r for r in changed if r in left or before.get(r) != Membership.JOIN}

    async def _unread(
        self, info: SyncRequestInfo, room_ids: list[str], upto: StreamToken
    ) -> dict[str, JsonDict]:
        """Each room's unread count keys (services/sync/unread.py); not those
        of ignored users, nor hidden ones."""
        personal = info.personal or PersonalView(info.user_id)
        return await self.unread.counts(
            info.user_id,
            room_ids,
            upto.events,
            ignored=personal.ignored,
            threaded=info.filter.room.timeline.unread_thread_notifications,
            any_hidden=info.personal is None or bool(info.personal.hidden),
        )

    async def _ephemeral(
        self,
        info: SyncRequestInfo,
        rooms: set[str],
        since: StreamToken | None,
        upto: StreamToken,
    ) -> dict[str, list[JsonDict]]:
        out: dict[str, list[JsonDict]] = {}
        if moved(since, upto, TYPING.name):
            typing = self.sources.typing.get_typing_for_rooms(
                rooms, since.get(TYPING.name) if since else None
            )
            for room_id, content in typing.items():
                out.setdefault(room_id, []).append(
                    {"type": "m.typing", "content": content}
                )
        if moved(since, upto, RECEIPTS.name):
            receipts = await self.sources.receipts.get_receipts_for_rooms(
                info.user_id,
                rooms,
                since.get(RECEIPTS.name) if since else None,
                upto.get(RECEIPTS.name),
            )
            for room_id, content in receipts.items():
                out.setdefault(room_id, []).append(
                    {"type": "m.receipt", "content": content}
                )
        return _by_type(out, info.filter.room.ephemeral)

    async def _room_account_data(
        self,
        info: SyncRequestInfo,
        rooms: set[str],
        since: StreamToken | None,
        upto: StreamToken,
    ) -> dict[str, list[JsonDict]]:
        if not moved(since, upto, ACCOUNT_DATA.name):
            return {}
        data = await self.sources.account_data.get_room_account_data(
            info.user_id,
            rooms,
            since.get(ACCOUNT_DATA.name) if since else None,
            upto.get(ACCOUNT_DATA.name),
        )
        return _by_type(data, info.filter.room.account_data)


def _by_type(
    events_by_room: dict[str, list[JsonDict]], event_filter: EventFilter
) -> dict[str, list[JsonDict]]:
    """Each room's events that ``event_filter`` lets through by type."""
    if event_filter.is_open:
        # The usual filter lets everything through (a copy: callers add to it).
        return dict(events_by_room)
    return {
        room_id: [e for e in events if event_filter.check_fields(e["type"], "")]
        for room_id, events in events_by_room.items()
    }
