"""Building one room's section of a /sync response.

Spec: client-server API, "Syncing" (GET /sync: rooms.join/leave/invite/knock).
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from homeserver.events.model import Event, EventTypes, Membership, StateKey
from homeserver.events.template import STRIPPED_STATE_TYPES
from homeserver.services.accounts.auth import Requester
from homeserver.services.reading.filters import Filter, RoomEventFilter
from homeserver.services.reading.pagination import row_filter_for
from homeserver.services.reading.personal import PersonalView
from homeserver.services.reading.serializer import EventSerializer
from homeserver.services.reading.visibility import VisibilityService
from homeserver.services.sync.shared_windows import SharedWindows
from homeserver.storage.stores.event_state import EventStateStore, StateSelection
from homeserver.storage.stores.events import EventStore
from homeserver.storage.stores.stream import EventRowFilter
from homeserver.storage.stores.sync import SyncBatchStore
from homeserver.streams.tokens import RoomStreamToken
from homeserver.types import JsonDict

DEFAULT_TIMELINE_LIMIT = 10
MAX_HEROES = 5


@attrs.frozen
class SyncRequestInfo:
    """Who is syncing and how.

    Args:
        personal: what the user chose not to see (ignored users, hidden
            events), read afresh for each pass of the long-poll loop.
    """

    requester: Requester
    filter: Filter
    full_state: bool
    personal: PersonalView | None = None

    @property
    def user_id(self) -> str:
        return self.requester.user_id


@attrs.frozen
class Timeline:
    """A room's timeline for this sync."""

    events: list[Event]
    limited: bool
    prev_batch: RoomStreamToken


@attrs.frozen
class RoomSection:
    """A joined or left room's timeline and state for one sync."""

    timeline: Timeline
    state: list[Event]

    def membership_changed(self) -> bool:
        """Whether membership events are among what the client gets."""
        return any(
            e.type == EventTypes.MEMBER for e in [*self.timeline.events, *self.state]
        )


class RoomSyncBuilder:
    """Timelines, state, summaries and invite state for rooms, in batches."""

    def __init__(
        self,
        *,
        store: SyncBatchStore,
        events: EventStore,
        event_state: EventStateStore,
        visibility: VisibilityService,
        serializer: EventSerializer,
    ) -> None:
        self.store = store
        # Shared by the syncs one event wakes (services/sync/shared_windows.py).
        self.windows = SharedWindows(store)
        self.events = events
        self.event_state = event_state
        self.visibility = visibility
        self.serializer = serializer
        # The last timeline filter's SQL part: the syncs one event wakes
        # mostly share one filter object, so it is built once, not per sync.
        self._row_filter: tuple[RoomEventFilter | None, EventRowFilter | None] = (
            None,
            None,
        )

    async def sections(
        self, info: SyncRequestInfo, rooms: dict[str, int | None], upto: int
    ) -> dict[str, RoomSection]:
        """Timeline and state of each room (-> the token position, or None for
        a room's first sync), with a few batched queries for all of them."""
        if not rooms:
            return {}
        timeline_filter = info.filter.room.timeline
        limit = timeline_filter.limit
        if limit is None:
            limit = DEFAULT_TIMELINE_LIMIT
        # The filter's types and senders apply before the limit (in SQL), so
        # a filtered timeline is full up to its limit.
        if self._row_filter[0] is not timeline_filter:
            self._row_filter = (timeline_filter, row_filter_for(timeline_filter))
        windows = await self.windows.read(rooms, upto, limit, self._row_filter[1])
        found = await self.events.get_events(
            [eid for w in windows.values() for eid in w.event_ids]
        )
        joins = await self.store.get_join_positions(
            info.user_id, [r for r, since in rooms.items() if since is None]
        )
        timelines: dict[str, Timeline] = {}
        before: dict[str, str | None] = {}
        for room_id, window in windows.items():
            events = [found[i] for i in window.event_ids if i in found]
            events = [e for e in events if info.filter.room.timeline.check(e)]
            if info.personal is not None:
                events = info.personal.filter(events)
            limited = window.limited
            joined_at = joins.get(room_id)
            if (
                rooms[room_id] is None
                and events
                and (joined_at is None or (events[0].stream_ordering or 0) < joined_at)
            ):
                visible = await self.visibility.filter_events_for_user(
                    info.user_id, events
                )
                limited = limited or len(visible) < len(events)
                events = visible
            first = events[0].stream_ordering if events else None
            prev = RoomStreamToken(None, (first - 1) if first else upto)
            timelines[room_id] = Timeline(events, limited, prev)
            # The window's "event before" is the timeline's only if no event at
            # the start of the window was filtered out.
            oldest = found.get(window.event_ids[0]) if window.event_ids else None
            same_start = first == (oldest.stream_ordering if oldest else None)
            before[room_id] = window.before_timeline if same_start else None
        states = await self._states(info, rooms, timelines, before)
        return {r: RoomSection(timelines[r], states.get(r, [])) for r in timelines}

    async def _states(
        self,
        info: SyncRequestInfo,
        rooms: dict[str, int | None],
        timelines: dict[str, Timeline],
        before: dict[str, str | None],
    ) -> dict[str, list[Event]]:
        """The ``state`` block of each room: whole, or a delta when limited;
        with lazy-loaded members, the timeline senders' member events too
        (even when their membership did not change since the token: the
        client may never have been sent them)."""
        full = {
            r
            for r, t in timelines.items()
            if rooms[r] is None or info.full_state or t.limited
        }
        # An ungapped incremental timeline needs no state but, with lazy
        # loading, its senders' member events.
        members_only = {
            r
            for r, t in timelines.items()
            if info.filter.room.state.lazy_load_members and t.events and r not in full
        }
        wanted = full | members_only
        if not wanted:
            return {}
        missing = {
            r: timelines[r].prev_batch.stream for r in wanted if before.get(r) is None
        }
        anchors: dict[str, str] = {
            r: anchor for r in wanted if (anchor := before.get(r)) is not None
        }
        anchors.update(await self.store.get_last_events_at(missing))
        for room_id in wanted:
            events = timelines[room_id].events
            if room_id not in anchors and events:
                # Nothing before the timeline: a room joined over federation
                # starts at our join, whose state holds the room's state.
                anchors[room_id] = events[0].event_id
        deltas = {
            r: rooms[r] for r in full if rooms[r] is not None and not info.full_state
        }
        old = await self.store.get_last_events_at(
            {r: p for r, p in deltas.items() if p is not None}
        )
        by_event = await self.event_state.get_state_ids_for_events(
            {*(anchors[r] for r in full if r in anchors), *old.values()},
            StateSelection.all(),
        )
        senders = frozenset(
            (EventTypes.MEMBER, e.sender)
            for r in members_only
            for e in timelines[r].events
        )
        by_event.update(
            await self.event_state.get_state_ids_for_events(
                {anchors[r] for r in members_only if r in anchors},
                StateSelection(keys=senders),
            )
            if members_only
            else {}
        )
        picked: dict[str, list[str]] = {}
        for room_id in wanted:
            whole = by_event.get(anchors.get(room_id) or "", {})
            at_start = {} if room_id in members_only else whole
            if room_id in deltas:
                previous = by_event.get(old.get(room_id, ""), {})
                at_start = {k: v for k, v in whole.items() if previous.get(k) != v}
            picked[room_id] = self._select(info, at_start, whole, timelines[room_id])
        found = await self.events.get_events(
            [e for ids in picked.values() for e in ids]
        )
        return {
            room_id: [
                found[i]
                for i in ids
                if i in found and info.filter.room.state.check(found[i])
            ]
            for room_id, ids in picked.items()
        }

    @staticmethod
    def _select(
        info: SyncRequestInfo,
        state: dict[StateKey, str],
        whole: dict[StateKey, str],
        timeline: Timeline,
    ) -> list[str]:
        """What of ``state`` (the state to send: all, or the delta) goes in
        the ``state`` block; with lazy-loaded members, the member events of
        the timeline's senders come from ``whole`` (the state at the start of
        the timeline), changed or not."""
        in_timeline = {e.event_id for e in timeline.events}
        if info.filter.room.state.lazy_load_members:
            needed = {e.sender for e in timeline.events} | {info.user_id}
            state = {
                k: v
                for k, v in state.items()
                if k[0] != EventTypes.MEMBER or k[1] in needed
            }
            for user_id in {e.sender for e in timeline.events}:
                key = (EventTypes.MEMBER, user_id)
                if key in whole:
                    state[key] = whole[key]
        return [v for v in state.values() if v not in in_timeline]

    async def serialize(
        self, info: SyncRequestInfo, events: Sequence[Event]
    ) -> list[JsonDict]:
        """Events in the client format the filter asks for."""
        return await self.serializer.serialize(
            events,
            info.requester,
            include_room_id=False,
            event_format=info.filter.event_format,
            fields=info.filter.event_fields,
        )

    async def body(self, info: SyncRequestInfo, section: RoomSection) -> JsonDict:
        """``timeline`` and ``state`` as JSON."""
        timeline = section.timeline
        return {
            "timeline": {
                "events": await self.serialize(info, timeline.events),
                "limited": timeline.limited,
                "prev_batch": timeline.prev_batch.to_string(),
            },
            "state": {"events": await self.serialize(info, section.state)},
        }

    async def summaries(
        self, room_ids: Sequence[str], user_id: str
    ) -> dict[str, JsonDict]:
        """``summary`` of each room: member counts, and heroes for a room
        without a name or canonical alias (the spec requires them only then,
        and Synapse leaves them out otherwise)."""
        members = await self.store.get_member_summaries(room_ids)
        named = await self._named_rooms(room_ids)
        out = {}
        for room_id, rows in members.items():
            counts: dict[str, int] = {}
            for _, membership in rows:
                counts[membership] = counts.get(membership, 0) + 1
            summary: JsonDict = {
                "m.joined_member_count": counts.get(Membership.JOIN, 0),
                "m.invited_member_count": counts.get(Membership.INVITE, 0),
            }
            if room_id not in named:
                others = [(u, m) for u, m in rows if u != user_id]
                heroes = [
                    u for u, m in others if m in (Membership.JOIN, Membership.INVITE)
                ]
                heroes = heroes or [u for u, _ in others]
                summary["m.heroes"] = heroes[:MAX_HEROES]
            out[room_id] = summary
        return out

    async def _named_rooms(self, room_ids: Sequence[str]) -> set[str]:
        """Those of ``room_ids`` with a non-empty name or canonical alias."""
        naming = await self.store.get_naming_event_ids(room_ids)
        found = await self.events.get_events(
            [e for ids in naming.values() for e in ids]
        )
        named = set()
        for room_id, ids in naming.items():
            for event_id in ids:
                event = found.get(event_id)
                if event is None:
                    continue
                key = "name" if event.type == EventTypes.NAME else "alias"
                value = event.content.get(key)
                if isinstance(value, str) and value:
                    named.add(room_id)
        return named

    async def stripped_state(
        self, room_id: str, member_event_id: str
    ) -> list[JsonDict]:
        """Invite/knock state: key room state, for an invite the inviter's
        membership (MSC4319, as Synapse and as we send it over federation),
        plus the membership event itself."""
        keys = {(t, "") for t in STRIPPED_STATE_TYPES}
        invite = (await self.events.get_events([member_event_id])).get(member_event_id)
        if (
            invite is not None
            and invite.content.get("membership") == Membership.INVITE
            and invite.sender != invite.state_key
        ):
            keys.add((EventTypes.MEMBER, invite.sender))
        state = (
            await self.event_state.get_state_ids_for_event(
                member_event_id, StateSelection(keys=frozenset(keys))
            )
            or {}
        )
        found = await self.events.get_events(list(state.values()) + [member_event_id])
        stripped = [
            {
                "type": e.type,
                "state_key": e.state_key,
                "content": e.content,
                "sender": e.sender,
            }
            for key, eid in sorted(state.items())
            if (e := found.get(eid)) is not None
        ]
        member = found.get(member_event_id)
        remote = _remote_stripped_state(member)
        if remote is not None:
            # An invite or knock over federation: the state the other server
            # sent, as we have no state of the room.
            stripped = remote
        if member is not None:
            full: JsonDict = {
                "type": member.type,
                "state_key": member.state_key,
                "content": member.content,
                "sender": member.sender,
                "event_id": member.event_id,
                "origin_server_ts": member.origin_server_ts,
            }
            stripped.append(full)
        return stripped


def _remote_stripped_state(member: Event | None) -> list[JsonDict] | None:
    """The stripped state another server sent with an invite (or a knock
    answer), kept in the stored event's ``unsigned``."""
    if member is None or not member.outlier:
        return None
    unsigned = member.pdu.get("unsigned")
    if not isinstance(unsigned, dict):
        return None
    for key in ("invite_room_state", "knock_room_state"):
        state = unsigned.get(key)
        if isinstance(state, list):
            return [e for e in state if isinstance(e, dict)]
    return None
