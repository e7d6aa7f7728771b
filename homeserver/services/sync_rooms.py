"""Building one room's section of a /sync response.

Spec: client-server API, "Syncing" (GET /sync: rooms.join/leave/invite/knock).
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from homeserver.events.model import Event, EventTypes, Membership, StateKey
from homeserver.services.auth import Requester
from homeserver.services.filters import Filter
from homeserver.services.serializer import EventSerializer
from homeserver.services.visibility import VisibilityService
from homeserver.storage.stores.event_state import EventStateStore, StateSelection
from homeserver.storage.stores.events import EventStore
from homeserver.storage.stores.sync import SyncStore
from homeserver.streams.tokens import RoomStreamToken
from homeserver.types import JsonDict

DEFAULT_TIMELINE_LIMIT = 10
MAX_HEROES = 5
STRIPPED_STATE_TYPES = (
    EventTypes.CREATE,
    EventTypes.JOIN_RULES,
    EventTypes.NAME,
    EventTypes.AVATAR,
    EventTypes.CANONICAL_ALIAS,
    EventTypes.ENCRYPTION,
    EventTypes.TOPIC,
)


@attrs.frozen
class SyncRequestInfo:
    """Who is syncing and how."""

    requester: Requester
    filter: Filter
    full_state: bool

    @property
    def user_id(self) -> str:
        return self.requester.user_id


@attrs.frozen
class Timeline:
    """A room's timeline for this sync."""

    events: list[Event]
    limited: bool
    prev_batch: RoomStreamToken


class RoomSyncBuilder:
    """Timelines, state, summaries and invite state for rooms."""

    def __init__(
        self,
        store: SyncStore,
        events: EventStore,
        event_state: EventStateStore,
        visibility: VisibilityService,
        serializer: EventSerializer,
    ) -> None:
        self.store = store
        self.events = events
        self.event_state = event_state
        self.visibility = visibility
        self.serializer = serializer

    async def timeline(
        self, info: SyncRequestInfo, room_id: str, after: int | None, upto: int
    ) -> Timeline:
        """The newest events of (after, upto] the user may see, oldest first.

        ``after`` is None for a room's first sync (initial sync, or newly
        joined), where history visibility decides what is shown; otherwise the
        user has been joined since ``after``, so everything after it is visible.
        """
        limit = info.filter.room.timeline.limit or DEFAULT_TIMELINE_LIMIT
        ids, limited = await self.store.get_recent_event_ids(
            room_id, after, upto, limit
        )
        found = await self.events.get_events(ids)
        events = [found[i] for i in ids if i in found]
        events = [e for e in events if info.filter.room.timeline.check(e)]
        visible = events
        if after is None:
            visible = await self.visibility.filter_events_for_user(info.user_id, events)
        if len(visible) < len(events):
            limited = True
        first = visible[0].stream_ordering if visible else None
        prev = RoomStreamToken(None, (first - 1) if first else upto)
        return Timeline(visible, limited, prev)

    async def state_at(self, room_id: str, position: int) -> dict[StateKey, str]:
        """The room's state after its last event at or before ``position``."""
        last = await self.store.get_last_event_at(room_id, position)
        if last is None:
            return {}
        state = await self.event_state.get_state_ids_for_event(
            last, StateSelection.all()
        )
        return state or {}

    async def state_section(
        self,
        info: SyncRequestInfo,
        room_id: str,
        timeline: Timeline,
        since: int | None,
        upto: int,
    ) -> list[Event]:
        """The ``state`` block: state before the timeline, whole or as a delta."""
        if since is not None and not info.full_state and not timeline.limited:
            return []  # the timeline carries every state change since the token
        start = timeline.prev_batch.stream
        at_start = await self.state_at(room_id, start)
        if since is not None and not info.full_state:
            before = await self.state_at(room_id, since)
            at_start = {k: v for k, v in at_start.items() if before.get(k) != v}
        in_timeline = {e.event_id for e in timeline.events}
        if info.filter.room.state.lazy_load_members:
            wanted = {e.sender for e in timeline.events} | {info.user_id}
            at_start = {
                k: v
                for k, v in at_start.items()
                if k[0] != EventTypes.MEMBER or k[1] in wanted
            }
        ids = [v for v in at_start.values() if v not in in_timeline]
        found = await self.events.get_events(ids)
        state = [found[i] for i in ids if i in found]
        return [e for e in state if info.filter.room.state.check(e)]

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

    async def room_body(
        self,
        info: SyncRequestInfo,
        room_id: str,
        since: int | None,
        upto: int,
    ) -> tuple[JsonDict, Timeline, list[Event]]:
        """``timeline`` and ``state`` of a joined or left room."""
        timeline = await self.timeline(info, room_id, since, upto)
        state = await self.state_section(info, room_id, timeline, since, upto)
        body: JsonDict = {
            "timeline": {
                "events": await self.serialize(info, timeline.events),
                "limited": timeline.limited,
                "prev_batch": timeline.prev_batch.to_string(),
            },
            "state": {"events": await self.serialize(info, state)},
        }
        return body, timeline, state

    async def summary(self, room_id: str, user_id: str) -> JsonDict:
        """``summary``: heroes and member counts."""
        counts, members = await self.store.get_member_summary(room_id)
        others = [(u, m) for u, m in members if u != user_id]
        heroes = [u for u, m in others if m in (Membership.JOIN, Membership.INVITE)]
        if not heroes:
            heroes = [u for u, _ in others]
        return {
            "m.heroes": heroes[:MAX_HEROES],
            "m.joined_member_count": counts.get(Membership.JOIN, 0),
            "m.invited_member_count": counts.get(Membership.INVITE, 0),
        }

    async def stripped_state(
        self, room_id: str, member_event_id: str
    ) -> list[JsonDict]:
        """Invite/knock state: key room state plus the membership event itself."""
        state = (
            await self.event_state.get_state_ids_for_event(
                member_event_id,
                StateSelection(keys=frozenset((t, "") for t in STRIPPED_STATE_TYPES)),
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
